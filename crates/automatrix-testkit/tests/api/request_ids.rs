//! `X-Request-Id`: a sane one from the client is kept, anything else replaced by a UUID, and
//! the id is echoed on every response (errors and 404s too); an execution started by an execute
//! call or a webhook records the id of that request, and so do the sub-workflow and error
//! workflow executions its run starts.

use automatrix_testkit::{TestApp, both_backends};
use reqwest::Method;
use serde_json::json;

use crate::fixtures;

/// The id the server answered `path` with, for a request carrying `sent` (if any).
async fn echoed(app: &TestApp, path: &str, sent: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(app.url(path));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    let res = req.send().await.unwrap();
    let id = res
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        res.status().as_u16(),
        id.unwrap_or_else(|| panic!("{path}: no x-request-id")),
    )
}

both_backends! {
    async fn a_sane_request_id_is_echoed_on_every_response(app) {
        for (path, status) in [("/health", 200), ("/api/auth/me", 401), ("/api/no/such/page", 404), ("/no/such/page", 200), ("/api/openapi.json", 200)] {
            assert_eq!(echoed(&app, path, Some("abc-123")).await, (status, "abc-123".to_owned()), "{path}");
        }
        let long = "a1.b2_c3:d4-".repeat(10);
        assert_eq!(echoed(&app, "/health", Some(&long)).await.1, long, "up to 128 characters");
    }

    async fn a_missing_or_unacceptable_request_id_is_replaced_by_a_uuid(app) {
        let too_long = "x".repeat(129);
        for sent in [None, Some("has spaces"), Some("<script>"), Some(too_long.as_str()), Some("a/b"), Some("")] {
            let (_, id) = echoed(&app, "/api/no/such/page", sent).await;
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{sent:?} answered with {id}");
        }
        let (_, one) = echoed(&app, "/health", None).await;
        let (_, other) = echoed(&app, "/health", None).await;
        assert_ne!(one, other, "a new id per request");
    }

    async fn an_execution_records_the_request_id_of_its_execute_call(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "tagged", fixtures::lead_router()).await;
        let res = app
            .http
            .post(app.url(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap())))
            .bearer_auth(&s.access_token)
            .header("x-request-id", "abc-123")
            .json(&json!({"input": {"name": "Ada"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        assert_eq!(res.headers()["x-request-id"], "abc-123");
        let id = res.json::<serde_json::Value>().await.unwrap()["execution_id"].as_str().unwrap().to_owned();
        let path = format!("/api/executions/{id}");
        assert_eq!(app.get(&path, &s.access_token).await.body["request_id"], "abc-123");
        app.run_jobs().await;
        let done = app.get(&path, &s.access_token).await;
        assert_eq!((done.body["status"].as_str(), done.body["request_id"].as_str()), (Some("completed"), Some("abc-123")));
        // The list shows it too.
        let listed = app.get(&format!("/api/workflows/{}/executions", wf["id"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(listed.body["items"][0]["request_id"], "abc-123");
    }

    async fn an_execution_records_the_request_id_of_its_webhook_call(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "hooked", fixtures::webhook()).await;
        let path = wf["webhook_url"].as_str().unwrap().to_owned();
        let called = app
            .hook(Method::POST, &path, &[("content-type", "application/json"), ("x-request-id", "hook-42")], r#"{"email":"lead@example.test"}"#)
            .await;
        assert_eq!(called.status, 202, "{}", called.body);
        assert_eq!(called.headers["x-request-id"], "hook-42");
        let id = called.body["execution_id"].as_str().unwrap();
        let execution = app.get(&format!("/api/executions/{id}"), &s.access_token).await;
        assert_eq!(execution.body["request_id"], "hook-42");

        // Without one, the execution has the id the server made up and answered with.
        let called = app.hook(Method::POST, &path, &[], "{}").await;
        let made_up = called.headers["x-request-id"].to_str().unwrap().to_owned();
        let id = called.body["execution_id"].as_str().unwrap();
        let execution = app.get(&format!("/api/executions/{id}"), &s.access_token).await;
        assert_eq!(execution.body["request_id"].as_str(), Some(made_up.as_str()));
    }

    async fn the_executions_a_run_starts_record_its_request_id(app) {
        let s = app.signup().await;
        let id_of = |wf: serde_json::Value| wf["id"].as_str().unwrap().to_owned();
        let trigger_only = json!({"nodes": [{"id": "t", "type": "trigger.manual"}], "edges": []});
        let handler = id_of(app.create_workflow(&s, "On failure", trigger_only.clone()).await);
        let child = id_of(app.create_workflow(&s, "Child", trigger_only).await);
        let parent = id_of(app.create_workflow(&s, "Parent", json!({
            "nodes": [
                {"id": "t", "type": "trigger.manual"},
                {"id": "call", "type": "flow.subworkflow", "config": {"workflow_id": child}},
                {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('DMS down')"}}
            ],
            "edges": [{"from": "t", "to": "call"}, {"from": "call", "to": "boom"}],
            "settings": {"error_workflow_id": handler}
        })).await);
        let res = app
            .http
            .post(app.url(&format!("/api/workflows/{parent}/execute")))
            .bearer_auth(&s.access_token)
            .header("x-request-id", "chain-7")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        app.run_jobs().await;
        for (wf, status) in [(&parent, "failed"), (&child, "completed"), (&handler, "completed")] {
            let runs = app.get(&format!("/api/workflows/{wf}/executions"), &s.access_token).await;
            let run = &runs.body["items"][0];
            assert_eq!((run["status"].as_str(), run["request_id"].as_str()), (Some(status), Some("chain-7")), "{run}");
        }
    }
}
