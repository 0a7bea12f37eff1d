//! Version history over HTTP: each version lists its author and a change summary; any two
//! versions diff by node id and edge ends; a restore makes a new version equal to the old one and
//! never rewrites history; executions pin the version they ran. Export and import: a document
//! names credentials (never their ids or data) and an import in another organization maps each
//! name to that organization's credential, or refuses the document with every missing one.

use automatrix_testkit::{Session, TestApp, both_backends};
use serde_json::{Value, json};

fn v1() -> Value {
    json!({
        "nodes": [
            {"id": "start", "type": "trigger.manual"},
            {"id": "tag", "type": "transform.set", "config": {"fields": {"priority": "hot"}}}
        ],
        "edges": [{"from": "start", "to": "tag"}]
    })
}

/// v1 plus a node `cold` after `tag`.
fn v2() -> Value {
    let mut d = v1();
    d["nodes"].as_array_mut().unwrap().push(
        json!({"id": "cold", "type": "transform.set", "config": {"fields": {"priority": "cold"}}}),
    );
    d["edges"]
        .as_array_mut()
        .unwrap()
        .push(json!({"from": "tag", "to": "cold"}));
    d
}

/// v1 with `tag`'s config changed.
fn v3() -> Value {
    let mut d = v1();
    d["nodes"][1]["config"] = json!({"fields": {"priority": "warm"}});
    d
}

/// A workflow at version 3 (v1, v2, v3 above); its id.
async fn three_versions(app: &TestApp, s: &Session) -> String {
    let wf = app.create_workflow(s, "Lead triage", v1()).await;
    let id = wf["id"].as_str().unwrap().to_owned();
    for def in [v2(), v3()] {
        let res = app
            .put(
                &format!("/api/workflows/{id}"),
                &s.access_token,
                &json!({"definition": def}),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.body);
    }
    id
}

/// `GET /api/workflows/{id}/versions/{query}`.
async fn diff(app: &TestApp, s: &Session, id: &str, query: &str) -> automatrix_testkit::Res {
    let path = format!("/api/workflows/{id}/versions/{query}");
    app.get(&path, &s.access_token).await
}

fn numbers(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect()
}

/// A workflow texting through credential `credential_id` (a webhook trigger, so it has a token).
fn texting(credential_id: &str) -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.webhook"},
            {"id": "text", "type": "sms.send", "config": {"credential_id": credential_id, "to": "{{ $json.body.phone }}", "body": "Thanks!"}}
        ],
        "edges": [{"from": "lead", "to": "text"}]
    })
}

const TWILIO: &str = "tw-secret-token-1234567890";

async fn twilio(app: &TestApp, s: &Session, name: &str) -> String {
    app.create_credential(
        s,
        name,
        "twilio",
        json!({"account_sid": "AC1", "auth_token": TWILIO}),
    )
    .await
}

both_backends! {
    async fn versions_list_their_authors_and_what_changed(app) {
        let s = app.signup().await;
        let id = three_versions(&app, &s).await;

        let list = app.get(&format!("/api/workflows/{id}/versions"), &s.access_token).await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(numbers(&list.body), [3, 2, 1], "newest first");
        let summaries: Vec<&str> = list.body.as_array().unwrap().iter().map(|v| v["summary"].as_str().unwrap()).collect();
        assert_eq!(summaries, ["1 node removed, 1 changed; 1 edge removed", "1 node added; 1 edge added", "created"]);
        for v in list.body.as_array().unwrap() {
            assert_eq!(v["author"], json!({"id": s.user_id, "name": "Dana Dealer", "email": s.email}), "{v}");
            assert_eq!(v["created_by"], json!(s.user_id));
            assert!(v["restored_from"].is_null() && v["created_at"].is_string());
        }

        let one = app.get(&format!("/api/workflows/{id}/versions/2"), &s.access_token).await;
        assert_eq!(one.status, 200, "{}", one.body);
        assert_eq!((&one.body["definition"], one.body["summary"].as_str()), (&v2(), Some("1 node added; 1 edge added")));
    }

    async fn a_diff_names_nodes_by_id_and_edges_by_their_ends(app) {
        let s = app.signup().await;
        let id = three_versions(&app, &s).await;
        let (app, s, id) = (&app, &s, id.as_str());

        let previous = diff(app, s, id, "3/diff").await;
        assert_eq!(previous.status, 200, "{}", previous.body);
        assert_eq!((previous.body["version"].as_i64(), previous.body["against"].as_i64()), (Some(3), Some(2)));
        assert_eq!(previous.body["nodes"], json!({"added": [], "removed": ["cold"], "changed": [{"id": "tag", "fields": ["config"]}]}));
        assert_eq!(previous.body["edges"], json!({"added": [], "removed": [{"from": "tag", "to": "cold"}]}));
        assert_eq!(previous.body["summary"], "1 node removed, 1 changed; 1 edge removed");

        let against_first = diff(app, s, id, "3/diff?against=1").await;
        assert_eq!(against_first.body["nodes"]["changed"], json!([{"id": "tag", "fields": ["config"]}]));
        assert_eq!(against_first.body["edges"], json!({"added": [], "removed": []}));
        let backwards = diff(app, s, id, "1/diff?against=2").await;
        assert_eq!(backwards.body["nodes"]["removed"], json!(["cold"]));

        let first = diff(app, s, id, "1/diff").await;
        assert_eq!((first.body["against"].clone(), first.body["nodes"]["added"].clone()), (Value::Null, json!(["start", "tag"])));

        diff(app, s, id, "9/diff").await.assert_error(404, "NOT_FOUND");
        diff(app, s, id, "3/diff?against=9").await.assert_error(404, "NOT_FOUND");
        diff(app, s, id, "3/diff?against=x").await.assert_error(400, "BAD_REQUEST");
    }

    async fn a_restore_is_a_new_version_and_later_executions_run_it(app) {
        let s = app.signup().await;
        let id = three_versions(&app, &s).await;

        let restored = app.post(&format!("/api/workflows/{id}/versions/1/restore"), &s.access_token, &json!({})).await;
        assert_eq!(restored.status, 200, "{}", restored.body);
        assert_eq!((restored.body["version"].as_i64(), &restored.body["definition"]), (Some(4), &v1()));

        let list = app.get(&format!("/api/workflows/{id}/versions"), &s.access_token).await;
        assert_eq!(numbers(&list.body), [4, 3, 2, 1], "history is kept");
        assert_eq!((list.body[0]["summary"].as_str(), list.body[0]["restored_from"].as_i64()), (Some("restored from version 1"), Some(1)));
        let v2_now = app.get(&format!("/api/workflows/{id}/versions/2"), &s.access_token).await;
        assert_eq!(v2_now.body["definition"], v2(), "old versions are untouched");

        // Restoring what is already current changes nothing.
        let again = app.post(&format!("/api/workflows/{id}/versions/4/restore"), &s.access_token, &json!({})).await;
        assert_eq!((again.status, again.body["version"].as_i64()), (200, Some(4)), "{}", again.body);

        let exec = app.execute_and_wait(&s, &id, json!({})).await;
        assert_eq!((exec["status"].as_str(), exec["workflow_version"].as_i64()), (Some("completed"), Some(4)), "{exec}");
        assert_eq!(exec["output_data"], json!({"priority": "hot"}), "version 4 is version 1's definition");

        let missing = app.post(&format!("/api/workflows/{id}/versions/9/restore"), &s.access_token, &json!({})).await;
        missing.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/workflows/{id}/versions/9"), &s.access_token).await.assert_error(404, "NOT_FOUND");
    }

    async fn restoring_a_webhook_version_opens_a_webhook_again(app) {
        let s = app.signup().await;
        let mut hooked = v1();
        hooked["nodes"][0]["type"] = json!("trigger.webhook");
        let wf = app.create_workflow(&s, "Web leads", hooked.clone()).await;
        let id = wf["id"].as_str().unwrap();
        let manual = app.put(&format!("/api/workflows/{id}"), &s.access_token, &json!({"definition": v1()})).await;
        assert!(manual.body["webhook_url"].is_null(), "{}", manual.body);

        let restored = app.post(&format!("/api/workflows/{id}/versions/1/restore"), &s.access_token, &json!({})).await;
        assert_eq!((restored.status, restored.body["version"].as_i64()), (200, Some(3)), "{}", restored.body);
        let url = restored.body["webhook_url"].as_str().expect("a webhook again");
        let called = app.hook(reqwest::Method::POST, url, &[("content-type", "application/json")], "{}").await;
        assert_eq!(called.status, 202, "{}", called.body);
    }

    async fn another_organization_reaches_no_version_and_no_export(app) {
        let owner = app.signup().await;
        let other = app.signup().await;
        let id = three_versions(&app, &owner).await;
        let t = &other.access_token;
        for path in ["versions", "versions/1", "versions/2/diff", "export"] {
            app.get(&format!("/api/workflows/{id}/{path}"), t).await.assert_error(404, "NOT_FOUND");
        }
        app.post(&format!("/api/workflows/{id}/versions/1/restore"), t, &json!({})).await.assert_error(404, "NOT_FOUND");
        let list = app.get(&format!("/api/workflows/{id}/versions"), &owner.access_token).await;
        assert_eq!(numbers(&list.body), [3, 2, 1], "nothing was restored");
    }

    async fn an_export_names_credentials_and_an_import_elsewhere_maps_the_names(app) {
        let source = app.signup().await;
        let source_cred = twilio(&app, &source, "Twilio main").await;
        let wf = app.create_workflow(&source, "Text new leads", texting(&source_cred)).await;
        let id = wf["id"].as_str().unwrap();

        let doc = app.get(&format!("/api/workflows/{id}/export"), &source.access_token).await;
        assert_eq!(doc.status, 200, "{}", doc.body);
        assert_eq!((doc.body["format"].as_str(), doc.body["format_version"].as_i64()), (Some("automatrix.workflow"), Some(1)));
        assert_eq!((doc.body["name"].as_str(), doc.body["description"].as_str()), (Some("Text new leads"), Some("")));
        assert_eq!(doc.body["definition"]["nodes"][1]["config"]["credential_id"], json!({"credential": "Twilio main"}));
        assert_eq!(doc.body["credentials"], json!([{"ref": "Twilio main", "type": "twilio"}]));
        let text = doc.body.to_string();
        assert!(!text.contains(&source_cred) && !text.contains(TWILIO) && !text.contains(id), "{text}");

        let target = app.signup().await;
        let target_cred = twilio(&app, &target, "Twilio main").await;
        let imported = app.post("/api/workflows/import", &target.access_token, &doc.body).await;
        assert_eq!(imported.status, 201, "{}", imported.body);
        assert_ne!(imported.body["id"], wf["id"]);
        assert_eq!((imported.body["name"].as_str(), imported.body["version"].as_i64()), (Some("Text new leads"), Some(1)));
        assert_eq!(imported.body["definition"], texting(&target_cred), "the name maps to this organization's credential");
        assert!(imported.body["webhook_url"].is_string() && imported.body["webhook_url"] != wf["webhook_url"], "{}", imported.body);

        // Importing twice makes two workflows; the source is untouched.
        let again = app.post("/api/workflows/import", &target.access_token, &doc.body).await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_ne!(again.body["id"], imported.body["id"]);
        let source_now = app.get(&format!("/api/workflows/{id}"), &source.access_token).await;
        assert_eq!(source_now.body["definition"], texting(&source_cred));
    }

    async fn an_import_refuses_missing_credentials_and_bad_documents(app) {
        let source = app.signup().await;
        let cred = twilio(&app, &source, "Twilio main").await;
        let wf = app.create_workflow(&source, "Text new leads", texting(&cred)).await;
        let doc = app.get(&format!("/api/workflows/{}/export", wf["id"].as_str().unwrap()), &source.access_token).await.body;

        let target = app.signup().await;
        let t = &target.access_token;
        let missing = app.post("/api/workflows/import", t, &doc).await;
        missing.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(missing.body["error"]["details"], json!([{
            "path": "definition.nodes[1].config.credential_id",
            "issue": "no credential named `Twilio main` in this organization"
        }]));

        app.create_credential(&target, "Twilio main", "chat_webhook", json!({"url": "https://chat.example/hook"})).await;
        let wrong_type = app.post("/api/workflows/import", t, &doc).await;
        wrong_type.assert_error(422, "VALIDATION_ERROR");
        assert!(wrong_type.body["error"]["details"][0]["issue"].as_str().unwrap().contains("`chat_webhook`"), "{}", wrong_type.body);

        let with = |field: &str, value: Value| {
            let mut d = doc.clone();
            d[field] = value;
            d
        };
        let bad_format = app.post("/api/workflows/import", t, &with("format", json!("n8n.workflow"))).await;
        bad_format.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(bad_format.body["error"]["details"][0]["path"], "format");
        let newer = app.post("/api/workflows/import", t, &with("format_version", json!(2))).await;
        newer.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(newer.body["error"]["details"][0]["path"], "format_version");
        let invalid = with("definition", json!({"nodes": [{"id": "x", "type": "nope"}], "edges": []}));
        let invalid = app.post("/api/workflows/import", t, &invalid).await;
        invalid.assert_error(422, "VALIDATION_ERROR");
        assert!(invalid.body["error"]["details"].as_array().unwrap().iter().any(|p| p["path"] == "definition.nodes[0].type"), "{}", invalid.body);
        app.post("/api/workflows/import", t, &json!({"format": "automatrix.workflow"})).await.assert_error(422, "VALIDATION_ERROR");
        app.post("/api/workflows/import", t, &with("name", json!(" "))).await.assert_error(422, "VALIDATION_ERROR");

        let list = app.get("/api/workflows", t).await;
        assert_eq!(list.body["items"], json!([]), "nothing was half-imported");
    }
}
