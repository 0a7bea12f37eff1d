//! Workflow CRUD, validation with every problem and its path, versions.

use automatrix_testkit::both_backends;
use serde_json::json;

use crate::fixtures;

both_backends! {
    async fn a_created_workflow_is_version_one_and_readable(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Lead router", fixtures::lead_router()).await;
        assert_eq!(wf["version"], 1);
        assert_eq!(wf["is_active"], true);
        assert_eq!(wf["description"], "");
        assert!(wf["webhook_url"].is_null());
        assert_eq!(wf["definition"], fixtures::lead_router());
        let got = app.get(&format!("/api/workflows/{}", wf["id"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body, wf);
    }

    async fn a_webhook_workflow_gets_an_unguessable_hook_url(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Web leads", fixtures::webhook()).await;
        let url = wf["webhook_url"].as_str().unwrap();
        assert!(url.starts_with("/hooks/") && url.len() >= "/hooks/".len() + 32, "{url}");
        let renamed = app.put(&format!("/api/workflows/{}", wf["id"].as_str().unwrap()), &s.access_token, &json!({"name": "Renamed", "definition": fixtures::webhook()})).await;
        assert_eq!(renamed.body["webhook_url"], url, "the hook URL survives edits");
    }

    async fn an_invalid_definition_is_rejected_with_every_problem(app) {
        let s = app.signup().await;
        let def = json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "start", "type": "no.such.node"},
                {"id": "call", "type": "http.request", "config": {"url": 42}},
                {"id": "expr", "type": "transform.set", "config": {"fields": {"x": "{{ $json. }}"}}}
            ],
            "edges": [{"from": "start", "to": "ghost"}, {"from": "start", "to": "expr"}]
        });
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Broken", "definition": def})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["message"], "workflow definition is invalid");
        let paths: Vec<&str> = res.body["error"]["details"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
        for want in ["nodes[1].id", "nodes[1].type", "nodes[2].config.url", "nodes[3].config.fields.x", "edges[0].to"] {
            assert!(paths.contains(&want), "missing {want} in {paths:?}");
        }
        assert_eq!(app.get("/api/workflows", &s.access_token).await.body["items"], json!([]), "nothing half-written");
    }

    async fn a_cycle_and_a_missing_trigger_are_rejected(app) {
        let s = app.signup().await;
        let cyclic = json!({
            "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "a", "type": "transform.set", "config": {"fields": {}}}, {"id": "b", "type": "transform.set", "config": {"fields": {}}}],
            "edges": [{"from": "t", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}]
        });
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Loop", "definition": cyclic})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert!(res.body["error"]["details"][0]["issue"].as_str().unwrap().contains("cycle"));
        let headless = json!({"nodes": [{"id": "a", "type": "transform.set", "config": {"fields": {}}}]});
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "No trigger", "definition": headless})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "nodes");
    }

    async fn a_blank_name_is_rejected(app) {
        let s = app.signup().await;
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": " ", "definition": fixtures::lead_router()})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "name");
    }

    async fn the_list_pages_newest_first_with_a_cursor(app) {
        let s = app.signup().await;
        for i in 0..5 {
            app.create_workflow(&s, &format!("wf {i}"), fixtures::lead_router()).await;
        }
        let first = app.get("/api/workflows?limit=2", &s.access_token).await;
        let names: Vec<&str> = first.body["items"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["wf 4", "wf 3"]);
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app.get(&format!("/api/workflows?limit=2&cursor={cursor}"), &s.access_token).await;
        let names: Vec<&str> = second.body["items"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["wf 2", "wf 1"]);
        let third = app.get(&format!("/api/workflows?limit=2&cursor={}", second.body["next_cursor"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(third.body["items"].as_array().unwrap().len(), 1);
        assert!(third.body["next_cursor"].is_null());
        app.get("/api/workflows?limit=0", &s.access_token).await.assert_error(400, "BAD_REQUEST");
        app.get("/api/workflows?cursor=zzz", &s.access_token).await.assert_error(400, "BAD_REQUEST");
    }

    async fn changing_the_definition_stores_a_new_immutable_version(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Router", fixtures::lead_router()).await;
        let id = wf["id"].as_str().unwrap();
        let renamed = app.put(&format!("/api/workflows/{id}"), &s.access_token, &json!({"name": "Lead router", "description": "scores leads"})).await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(renamed.body["version"], 1, "a rename is not a new version");
        assert_eq!(renamed.body["description"], "scores leads");
        let def2 = fixtures::code("return 2;");
        let v2 = app.put(&format!("/api/workflows/{id}"), &s.access_token, &json!({"definition": def2})).await;
        assert_eq!(v2.body["version"], 2);
        assert_eq!(v2.body["name"], "Lead router");
        let versions = app.get(&format!("/api/workflows/{id}/versions"), &s.access_token).await;
        let nums: Vec<i64> = versions.body.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
        assert_eq!(nums, vec![2, 1]);
        let v1 = app.get(&format!("/api/workflows/{id}/versions/1"), &s.access_token).await;
        assert_eq!(v1.body["definition"], fixtures::lead_router());
        let restored = app.post(&format!("/api/workflows/{id}/versions/1/restore"), &s.access_token, &json!({})).await;
        assert_eq!(restored.status, 200, "{}", restored.body);
        assert_eq!(restored.body["version"], 3);
        assert_eq!(restored.body["definition"], fixtures::lead_router());
        app.get(&format!("/api/workflows/{id}/versions/9"), &s.access_token).await.assert_error(404, "NOT_FOUND");
    }

    async fn an_invalid_update_changes_nothing(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Router", fixtures::lead_router()).await;
        let id = wf["id"].as_str().unwrap();
        let res = app.put(&format!("/api/workflows/{id}"), &s.access_token, &json!({"name": "New", "definition": {"nodes": []}})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        let got = app.get(&format!("/api/workflows/{id}"), &s.access_token).await;
        assert_eq!(got.body["name"], "Router");
        assert_eq!(got.body["version"], 1);
    }

    async fn a_deleted_workflow_is_gone_with_its_executions(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Temp", fixtures::lead_router()).await;
        let id = wf["id"].as_str().unwrap();
        let exec = app.execute_and_wait(&s, id, json!({"score": 1})).await;
        assert_eq!(app.delete(&format!("/api/workflows/{id}"), &s.access_token).await.status, 204);
        app.get(&format!("/api/workflows/{id}"), &s.access_token).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/executions/{}", exec["id"].as_str().unwrap()), &s.access_token).await.assert_error(404, "NOT_FOUND");
        app.delete(&format!("/api/workflows/{id}"), &s.access_token).await.assert_error(404, "NOT_FOUND");
    }

    async fn an_id_that_is_not_a_uuid_is_not_found(app) {
        let s = app.signup().await;
        app.get("/api/workflows/not-a-uuid", &s.access_token).await.assert_error(404, "NOT_FOUND");
        app.get(&format!("/api/workflows/{}", uuid::Uuid::now_v7()), &s.access_token).await.assert_error(404, "NOT_FOUND");
    }

    async fn the_node_catalog_lists_every_type_with_its_schema(app) {
        let s = app.signup().await;
        let res = app.get("/api/node-types", &s.access_token).await;
        assert_eq!(res.status, 200);
        let kinds: Vec<&str> = res.body.as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        for k in ["trigger.manual", "trigger.webhook", "trigger.schedule", "transform.set", "logic.if", "logic.merge", "code.js", "http.request", "dealer.vin_decode"] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let node = |kind: &str| res.body.as_array().unwrap().iter().find(|n| n["type"] == kind).unwrap().clone();
        let iff = node("logic.if");
        assert_eq!(iff["outputs"], json!(["true", "false"]));
        assert_eq!(iff["dynamic_outputs"], false);
        let switch = node("logic.switch");
        assert_eq!((switch["outputs"].clone(), switch["dynamic_outputs"].clone()), (json!([]), json!(true)));
        assert_eq!(iff["config_schema"]["type"], "object");
        assert_eq!(iff["display_name"], "If");
        for n in res.body.as_array().unwrap() {
            let examples = n["examples"].as_array().unwrap();
            assert!(!examples.is_empty(), "{} has no example", n["type"]);
            assert!(examples.iter().all(|e| e["type"] == n["type"]), "{}", n["type"]);
        }
        assert_eq!(node("http.request")["side_effects"], true);
        assert_eq!(node("transform.set")["side_effects"], false);
    }

    async fn a_definition_is_checked_without_being_saved(app) {
        let s = app.signup().await;
        let ok = app.post("/api/workflows/validate", &s.access_token, &json!({"definition": fixtures::lead_router()})).await;
        assert_eq!(ok.status, 200, "{}", ok.body);
        assert_eq!(ok.body, json!({"valid": true, "problems": []}));

        let broken = json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "call", "type": "http.request", "config": {"url": 42}},
                {"id": "lonely", "type": "no.such.node"}
            ],
            "edges": [{"from": "start", "to": "call"}, {"from": "call", "output": "nope", "to": "ghost"}]
        });
        let res = app.post("/api/workflows/validate", &s.access_token, &json!({"definition": broken})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["valid"], false);
        let paths: Vec<&str> = res.body["problems"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap()).collect();
        for want in ["nodes[1].config.url", "nodes[2].type", "edges[1].to"] {
            assert!(paths.contains(&want), "missing {want} in {paths:?}");
        }
        // The same problems a save is refused for.
        let saved = app.post("/api/workflows", &s.access_token, &json!({"name": "Broken", "definition": broken})).await;
        saved.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(saved.body["error"]["details"], res.body["problems"]);
        assert_eq!(app.get("/api/workflows", &s.access_token).await.body["items"], json!([]), "nothing saved");

        let dangling = json!({"nodes": [{"id": "t", "type": "trigger.manual"}], "settings": {"error_workflow_id": "0193c1f2-aaaa-7000-8000-000000000000"}});
        let res = app.post("/api/workflows/validate", &s.access_token, &json!({"definition": dangling})).await;
        assert_eq!(res.body["valid"], false);
        assert_eq!(res.body["problems"][0]["path"], "settings.error_workflow_id");

        let res = app.post("/api/workflows/validate", &s.access_token, &json!({"nodes": []})).await;
        res.assert_error(422, "VALIDATION_ERROR");
    }
}
