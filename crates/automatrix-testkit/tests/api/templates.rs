//! Templates over HTTP on both databases: an organization's own (created, listed, replaced,
//! deleted, saved from a workflow, invisible to others), refusals with paths, instantiation
//! with checked parameters, and the built-in library (read-only, every one instantiated with its
//! examples and run dry on its sample input).

use automatrix_testkit::{Session, TestApp, both_backends};
use serde_json::{Value, json};

fn lead_reply() -> Value {
    json!({
        "name": "Lead reply", "category": "Sales", "description": "Texts a new lead back.",
        "parameters": [
            {"name": "store_name", "type": "string", "required": true, "example": "Valley Honda", "description": "The store's name."},
            {"name": "manager_email", "type": "email", "required": true, "example": "gm@valley.example", "description": "Who hears of it."},
            {"name": "min_score", "type": "number", "default": 50, "description": "Score from which a lead is answered."},
            {"name": "sms", "type": "credential", "credential_type": "twilio", "required": true, "description": "Texts go out from it."}
        ],
        "definition": {
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "check", "type": "logic.if", "config": {"condition": "{{ $json.score >= [[min_score]] }}"}},
                {"id": "reply", "type": "transform.set", "config": {"fields": {
                    "text": "Hi {{ $json.name }}, thanks for choosing [[ store_name ]]!",
                    "cc": "[[manager_email]]", "threshold": "[[min_score]]", "via": "[[sms]]"}}}
            ],
            "edges": [{"from": "lead", "to": "check"}, {"from": "check", "output": "true", "to": "reply"}]
        },
        "sample_input": {"name": "Pat", "score": 80}
    })
}

fn paths(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_owned())
        .collect()
}

async fn twilio(app: &TestApp, s: &Session) -> String {
    app.create_credential(
        s,
        "Twilio",
        "twilio",
        json!({"account_sid": "AC1", "auth_token": "tok-secret", "from": "+15550001111"}),
    )
    .await
}

/// Data of a credential of `kind` for a template's dry run: it must be valid for its type; it
/// points nowhere reachable, so nothing could be sent through it.
fn credential_data(kind: &str) -> Value {
    match kind {
        "smtp" => {
            json!({"host": "smtp.dealer.invalid", "port": 587, "tls": "starttls", "username": "bdc", "password": "smtp-secret"})
        }
        "twilio" => {
            json!({"account_sid": "AC1", "auth_token": "twilio-secret", "from": "+15550001111", "base_url": "http://127.0.0.1:9"})
        }
        "chat_webhook" => json!({"url": "http://127.0.0.1:9/hook"}),
        "http_bearer" => json!({"token": "bearer-secret"}),
        other => panic!("no test data for credential type {other}"),
    }
}

both_backends! {
    async fn an_organizations_templates_are_created_listed_replaced_and_deleted(app) {
        let s = app.signup().await;
        let other = app.signup().await;
        let created = app.post("/api/templates", &s.access_token, &lead_reply()).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.body["builtin"], false);
        assert_eq!(created.body["parameters"][3]["credential_type"], "twilio");
        let id = created.body["id"].as_str().unwrap().to_owned();

        let list = app.get("/api/templates?category=Sales", &s.access_token).await;
        let mine: Vec<&Value> = list.body["items"].as_array().unwrap().iter().filter(|t| t["id"] == id.as_str()).collect();
        assert_eq!(mine.len(), 1);
        assert!(mine[0].get("definition").is_none(), "a list has no definitions");
        assert_eq!(mine[0]["node_count"], lead_reply()["definition"]["nodes"].as_array().unwrap().len());
        let builtin = list.body["items"].as_array().unwrap().iter().find(|t| t["builtin"] == true).expect("a built-in Sales template");
        assert!(builtin["node_count"].as_u64().unwrap() > 3, "{builtin}");
        let one = app.get(&format!("/api/templates/{id}"), &s.access_token).await;
        assert_eq!(one.body["sample_input"], json!({"name": "Pat", "score": 80}));

        let mut changed = lead_reply();
        changed["name"] = json!("Lead reply v2");
        changed["category"] = json!("Marketing");
        let put = app.put(&format!("/api/templates/{id}"), &s.access_token, &changed).await;
        assert_eq!(put.status, 200, "{}", put.body);
        assert_eq!((put.body["name"].as_str(), put.body["category"].as_str()), (Some("Lead reply v2"), Some("Marketing")));

        // Another organization sees none of it.
        app.get(&format!("/api/templates/{id}"), &other.access_token).await.assert_error(404, "NOT_FOUND");
        app.put(&format!("/api/templates/{id}"), &other.access_token, &changed).await.assert_error(404, "NOT_FOUND");
        app.delete(&format!("/api/templates/{id}"), &other.access_token).await.assert_error(404, "NOT_FOUND");
        let theirs = app.post(&format!("/api/templates/{id}/instantiate"), &other.access_token, &json!({"name": "x"})).await;
        theirs.assert_error(404, "NOT_FOUND");
        assert!(app.get("/api/templates", &other.access_token).await.body["items"].as_array().unwrap().iter().all(|t| t["id"] != id.as_str()));

        assert_eq!(app.delete(&format!("/api/templates/{id}"), &s.access_token).await.status, 204);
        assert_eq!(app.get(&format!("/api/templates/{id}"), &s.access_token).await.status, 404);
    }

    async fn a_bad_template_is_refused_with_the_paths_of_its_problems(app) {
        let s = app.signup().await;
        let mut bad = lead_reply();
        bad["category"] = json!("Toys");
        bad["parameters"][1]["example"] = json!("not-an-email");
        bad["definition"]["nodes"][2]["config"]["fields"]["extra"] = json!("[[nobody]]");
        let res = app.post("/api/templates", &s.access_token, &bad).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(paths(&res.body), ["category", "parameters[1].example", "definition"]);

        // Placeholders in order, but the definition is not a workflow.
        let mut broken = lead_reply();
        broken["definition"]["nodes"][1]["type"] = json!("logic.nope");
        let res = app.post("/api/templates", &s.access_token, &broken).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert!(paths(&res.body).iter().all(|p| p.starts_with("definition.")), "{}", res.body);

        let mut slugged = lead_reply();
        slugged["slug"] = json!("mine");
        assert_eq!(paths(&app.post("/api/templates", &s.access_token, &slugged).await.body), ["slug"]);
        let shapeless = app.post("/api/templates", &s.access_token, &json!({"name": "x"})).await;
        shapeless.assert_error(422, "VALIDATION_ERROR");
    }

    async fn instantiating_checks_each_parameter_and_fills_the_definition(app) {
        let s = app.signup().await;
        let other = app.signup().await;
        let id = app.post("/api/templates", &s.access_token, &lead_reply()).await.body["id"].as_str().unwrap().to_owned();
        let url = format!("/api/templates/{id}/instantiate");

        let res = app.post(&url, &s.access_token, &json!({"name": "Mine", "parameters": {"manager_email": "nope", "min_score": "high", "colour": "red"}})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(paths(&res.body), ["parameters.colour", "parameters.store_name", "parameters.manager_email", "parameters.min_score", "parameters.sms"]);

        // A credential must be this organization's, of the parameter's type.
        let smtp = app.create_credential(&s, "Mail", "smtp", json!({"host": "smtp.dealer.example", "port": 587, "tls": "starttls"})).await;
        let foreign = twilio(&app, &other).await;
        let good = |sms: &str| json!({"name": "Mine", "parameters": {"store_name": "Valley Honda", "manager_email": "gm@valley.example", "sms": sms}});
        let wrong_type = app.post(&url, &s.access_token, &good(&smtp)).await;
        assert_eq!(paths(&wrong_type.body), ["parameters.sms"]);
        assert!(wrong_type.body.to_string().contains("takes `twilio`"), "{}", wrong_type.body);
        assert_eq!(paths(&app.post(&url, &s.access_token, &good(&foreign)).await.body), ["parameters.sms"]);

        let sms = twilio(&app, &s).await;
        let wf = app.post(&url, &s.access_token, &good(&sms)).await;
        assert_eq!(wf.status, 201, "{}", wf.body);
        assert_eq!(wf.body["name"], "Mine");
        assert_eq!(wf.body["description"], "Texts a new lead back.");
        let fields = &wf.body["definition"]["nodes"][2]["config"]["fields"];
        assert_eq!(fields["text"], "Hi {{ $json.name }}, thanks for choosing Valley Honda!");
        assert_eq!(fields["threshold"], 50, "a lone placeholder keeps its type; the default applies");
        assert_eq!(fields["via"], sms.as_str());
        assert_eq!(wf.body["definition"]["nodes"][1]["config"]["condition"], "{{ $json.score >= 50 }}");

        let exec = app.execute_and_wait(&s, wf.body["id"].as_str().unwrap(), json!({"name": "Pat", "score": 80})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"]["text"], "Hi Pat, thanks for choosing Valley Honda!");
    }

    async fn a_workflow_is_saved_as_a_template(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Service follow-up", json!({
            "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "n", "type": "flow.noop"}],
            "edges": [{"from": "t", "to": "n"}]
        })).await;
        let res = app.post("/api/templates", &s.access_token, &json!({"workflow_id": wf["id"], "category": "Service"})).await;
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.body["name"], "Service follow-up");
        assert_eq!(res.body["definition"], wf["definition"]);
        assert_eq!(res.body["parameters"], json!([]));
        let other = app.signup().await;
        let theirs = app.post("/api/templates", &other.access_token, &json!({"workflow_id": wf["id"], "category": "Service"})).await;
        theirs.assert_error(404, "NOT_FOUND");
    }

    async fn the_builtin_library_covers_every_category_and_is_read_only(app) {
        let s = app.signup().await;
        let items = app.get("/api/templates", &s.access_token).await.body["items"].as_array().unwrap().clone();
        let builtin: Vec<&Value> = items.iter().filter(|t| t["builtin"] == true).collect();
        assert!(builtin.len() >= 12, "{} built-in templates", builtin.len());
        for category in ["Sales", "Service", "Parts", "Marketing"] {
            assert!(builtin.iter().filter(|t| t["category"] == category).count() >= 2, "{category}");
        }
        let id = builtin[0]["id"].as_str().unwrap();
        let spec = app.get(&format!("/api/templates/{id}"), &s.access_token).await.body;
        app.put(&format!("/api/templates/{id}"), &s.access_token, &json!({
            "name": "x", "category": "Sales", "definition": spec["definition"]})).await.assert_error(403, "FORBIDDEN");
        app.delete(&format!("/api/templates/{id}"), &s.access_token).await.assert_error(403, "FORBIDDEN");
        // Loading again at a restart keeps the ids.
        app.engine.load_builtin_templates(automatrix_engine::BUILTIN_TEMPLATES).await.unwrap();
        assert_eq!(app.get(&format!("/api/templates/{id}"), &s.access_token).await.status, 200);
    }

    async fn every_builtin_template_instantiates_with_its_examples_and_completes_a_dry_run(app) {
        let s = app.signup().await;
        let items = app.get("/api/templates", &s.access_token).await.body["items"].as_array().unwrap().clone();
        let mut ran = 0;
        for summary in items.iter().filter(|t| t["builtin"] == true) {
            let id = summary["id"].as_str().unwrap();
            let slug = summary["slug"].as_str().unwrap();
            let template = app.get(&format!("/api/templates/{id}"), &s.access_token).await.body;
            let mut parameters = serde_json::Map::new();
            for p in template["parameters"].as_array().unwrap() {
                let name = p["name"].as_str().unwrap().to_owned();
                let value = if p["type"] == "credential" {
                    let kind = p["credential_type"].as_str().unwrap();
                    json!(app.create_credential(&s, &format!("{slug} {name}"), kind, credential_data(kind)).await)
                } else {
                    p["example"].clone()
                };
                parameters.insert(name, value);
            }
            let wf = app.post(&format!("/api/templates/{id}/instantiate"), &s.access_token,
                &json!({"name": format!("{slug} (dry run)"), "parameters": parameters})).await;
            assert_eq!(wf.status, 201, "{slug}: {}", wf.body);
            let run = app.post(&format!("/api/workflows/{}/execute", wf.body["id"].as_str().unwrap()), &s.access_token,
                &json!({"input": template["sample_input"], "dry_run": true})).await;
            assert_eq!(run.status, 202, "{slug}: {}", run.body);
            app.run_jobs().await;
            let exec = app.get(&format!("/api/executions/{}", run.body["execution_id"].as_str().unwrap()), &s.access_token).await.body;
            assert_eq!(exec["status"], "completed", "{slug} did not complete its dry run: {exec}");
            assert_eq!(exec["dry_run"], true, "{slug}");
            let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await.body.to_string();
            for secret in ["smtp-secret", "twilio-secret", "bearer-secret"] {
                assert!(!logs.contains(secret), "{slug}: a secret in the step logs");
            }
            ran += 1;
        }
        assert!(ran >= 12, "{ran} built-in templates");
    }
}
