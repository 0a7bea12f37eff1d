//! Durable execution over HTTP: parallel branches, retries with every attempt logged, durable
//! waits (delay, approval), retry of a failed execution, error workflows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use automatrix_testkit::{MockServer, Session, TestApp, both_backends};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

fn rows(logs: &Value, node: &str) -> Vec<Value> {
    logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["node_id"] == node)
        .cloned()
        .collect()
}

async fn logs(app: &TestApp, s: &Session, id: &str) -> Value {
    app.get(&format!("/api/executions/{id}/logs"), &s.access_token)
        .await
        .body
}

async fn start(app: &TestApp, s: &Session, wf: &Value, input: Value) -> String {
    let res = app
        .post(
            &format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()),
            &s.access_token,
            &json!({"input": input}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.body);
    res.body["execution_id"].as_str().unwrap().to_owned()
}

async fn status(app: &TestApp, s: &Session, id: &str) -> Value {
    app.get(&format!("/api/executions/{id}"), &s.access_token)
        .await
        .body
}

/// Runs due jobs until the execution reaches `want` (bounded; delays need real time to pass).
async fn run_until(app: &TestApp, s: &Session, id: &str, want: &str) -> Value {
    for _ in 0..400 {
        app.run_jobs().await;
        let e = status(app, s, id).await;
        if e["status"] == want {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "execution {id} never became {want}: {}",
        status(app, s, id).await
    );
}

fn approval_flow(on_error: &str) -> Value {
    json!({
        "nodes": [
            {"id": "deal", "type": "trigger.manual"},
            {"id": "manager", "type": "flow.approval", "config": {"message": "Approve {{ $json.discount }} % off?"}, "on_error": on_error},
            {"id": "send", "type": "transform.set", "config": {"fields": {"sent": true}}},
            {"id": "declined", "type": "transform.set", "config": {"fields": {"declined": true}, "keep_input": false}}
        ],
        "edges": [
            {"from": "deal", "to": "manager"},
            {"from": "manager", "to": "send"},
            {"from": "manager", "output": if on_error == "route" { "error" } else { "main" }, "to": "declined"}
        ]
    })
}

both_backends! {
    async fn independent_branches_run_at_the_same_time(app) {
        // Each call waits until all three arrived: run one after another, they would time out.
        let barrier = Arc::new(tokio::sync::Barrier::new(3));
        let mock = MockServer::start(axum::Router::new().route("/inventory/{n}", get(move || {
            let b = barrier.clone();
            async move { b.wait().await; "in stock" }
        }))).await;
        let call = |n: u32| json!({"id": format!("c{n}"), "type": "http.request", "config": {"url": mock.url(&format!("/inventory/{n}")), "timeout_ms": 5000}});
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, call(1), call(2), call(3), {"id": "join", "type": "logic.merge", "config": {"mode": "append"}}],
            "edges": [{"from": "start", "to": "c1"}, {"from": "start", "to": "c2"}, {"from": "start", "to": "c3"},
                      {"from": "c1", "to": "join"}, {"from": "c2", "to": "join"}, {"from": "c3", "to": "join"}]
        });
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Fan out", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        let bodies: Vec<&Value> = exec["output_data"].as_array().unwrap().iter().map(|r| &r["body"]).collect();
        assert_eq!(bodies, vec!["in stock", "in stock", "in stock"]);
    }

    async fn every_retry_attempt_is_visible_in_the_step_log(app) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mock = MockServer::start(axum::Router::new().route("/crm", post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { (StatusCode::SERVICE_UNAVAILABLE, "busy") } else { (StatusCode::OK, "ok") } }
        }))).await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"},
                      {"id": "push", "type": "http.request", "config": {"method": "POST", "url": mock.url("/crm")},
                       "retry": {"max_attempts": 3, "backoff": "fixed", "initial_delay_ms": 10}}],
            "edges": [{"from": "start", "to": "push"}]
        });
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Retry", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        let attempts: Vec<(i64, String)> = rows(&logs(&app, &s, exec["id"].as_str().unwrap()).await, "push")
            .iter().map(|r| (r["attempt"].as_i64().unwrap(), r["status"].as_str().unwrap().to_owned())).collect();
        assert_eq!(attempts, vec![(1, "failed".into()), (2, "failed".into()), (3, "completed".into())]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    async fn a_fatal_error_is_not_retried(app) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mock = MockServer::start(axum::Router::new().route("/crm", post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { (StatusCode::UNPROCESSABLE_ENTITY, "bad lead") }
        }))).await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"},
                      {"id": "push", "type": "http.request", "config": {"method": "POST", "url": mock.url("/crm")}, "retry": {"max_attempts": 5, "initial_delay_ms": 10}}],
            "edges": [{"from": "start", "to": "push"}]
        });
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Fatal", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    async fn a_delay_parks_the_execution_and_resumes_it_on_time(app) {
        let def = json!({
            "nodes": [{"id": "lead", "type": "trigger.manual"}, {"id": "wait", "type": "flow.delay", "config": {"duration_ms": 300}},
                      {"id": "follow_up", "type": "transform.set", "config": {"fields": {"followed_up": true}}}],
            "edges": [{"from": "lead", "to": "wait"}, {"from": "wait", "to": "follow_up"}]
        });
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Follow up", def).await;
        let id = start(&app, &s, &wf, json!({"name": "Pat"})).await;
        assert_eq!(app.run_jobs().await, 1);
        assert_eq!(status(&app, &s, &id).await["status"], "waiting");
        let wait = rows(&logs(&app, &s, &id).await, "wait");
        assert_eq!(wait.len(), 1);
        assert_eq!(wait[0]["status"], "waiting");
        assert_eq!(wait[0]["output_data"]["wait"]["kind"], "delay");
        assert_eq!(app.run_jobs().await, 0, "not due yet: nothing to claim");
        let done = run_until(&app, &s, &id, "completed").await;
        assert_eq!(done["output_data"], json!({"name": "Pat", "followed_up": true}));
        let wait = rows(&logs(&app, &s, &id).await, "wait");
        assert_eq!((wait.len(), wait[0]["status"].as_str()), (1, Some("completed")));
    }

    async fn an_approval_resumes_with_the_approvers_data(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Discount", approval_flow("fail")).await;
        let id = start(&app, &s, &wf, json!({"discount": 7})).await;
        app.run_jobs().await;
        assert_eq!(status(&app, &s, &id).await["status"], "waiting");
        let step = &rows(&logs(&app, &s, &id).await, "manager")[0];
        assert_eq!(step["output_data"]["wait"]["message"], "Approve 7 % off?");
        assert_eq!(app.run_jobs().await, 0, "an undecided approval holds no job");
        let res = app.post(&format!("/api/executions/{id}/steps/manager/approve"), &s.access_token, &json!({"data": {"discount": 7, "by": "Sam"}})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        app.post(&format!("/api/executions/{id}/steps/manager/approve"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
        app.run_jobs().await;
        let done = status(&app, &s, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"], json!({"send": {"discount": 7, "by": "Sam", "sent": true}, "declined": {"declined": true}}));
    }

    async fn a_rejection_can_be_routed_to_the_error_port(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Discount", approval_flow("route")).await;
        let id = start(&app, &s, &wf, json!({"discount": 30})).await;
        app.run_jobs().await;
        let res = app.post(&format!("/api/executions/{id}/steps/manager/reject"), &s.access_token, &json!({"data": {"reason": "too much"}})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        app.run_jobs().await;
        let done = status(&app, &s, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"], json!({"declined": true}));
        let l = logs(&app, &s, &id).await;
        assert_eq!(rows(&l, "send")[0]["status"], "skipped");
        assert_eq!(rows(&l, "manager")[0]["output_port"], "error");
    }

    async fn a_rejection_fails_the_execution_by_default(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Discount", approval_flow("fail")).await;
        let id = start(&app, &s, &wf, json!({"discount": 30})).await;
        app.run_jobs().await;
        app.post(&format!("/api/executions/{id}/steps/manager/reject"), &s.access_token, &json!({})).await;
        app.run_jobs().await;
        let done = status(&app, &s, &id).await;
        assert_eq!(done["status"], "failed");
        assert!(done["error_message"].as_str().unwrap().contains("approval rejected"), "{done}");
    }

    async fn deciding_a_step_that_does_not_wait_is_refused(app) {
        let s = app.signup().await;
        let other = app.signup().await;
        let wf = app.create_workflow(&s, "Discount", approval_flow("fail")).await;
        let id = start(&app, &s, &wf, json!({"discount": 1})).await;
        app.post(&format!("/api/executions/{id}/steps/manager/approve"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
        app.run_jobs().await;
        app.post(&format!("/api/executions/{id}/steps/deal/approve"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
        app.post(&format!("/api/executions/{id}/steps/manager/approve"), &other.access_token, &json!({})).await.assert_error(404, "NOT_FOUND");
        assert_eq!(status(&app, &s, &id).await["status"], "waiting");
    }

    async fn a_waiting_execution_can_be_cancelled(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Discount", approval_flow("fail")).await;
        let id = start(&app, &s, &wf, json!({"discount": 1})).await;
        app.run_jobs().await;
        let res = app.post(&format!("/api/executions/{id}/cancel"), &s.access_token, &json!({})).await;
        assert_eq!(res.body["status"], "cancelled");
        app.post(&format!("/api/executions/{id}/steps/manager/approve"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
        assert_eq!(app.run_jobs().await, 0);
    }

    async fn a_failed_execution_is_retried_from_the_failed_step(app) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mock = MockServer::start(axum::Router::new().route("/dms", post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { if n == 0 { (StatusCode::NOT_FOUND, "no such VIN") } else { (StatusCode::OK, "booked") } }
        }))).await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "prep", "type": "transform.set", "config": {"fields": {"ready": true}}},
                      {"id": "book", "type": "http.request", "config": {"method": "POST", "url": mock.url("/dms")}}],
            "edges": [{"from": "start", "to": "prep"}, {"from": "prep", "to": "book"}]
        });
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Book service", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        let id = exec["id"].as_str().unwrap();
        let res = app.post(&format!("/api/executions/{id}/retry"), &s.access_token, &json!({})).await;
        assert_eq!(res.status, 202, "{}", res.body);
        assert_eq!(res.body["status"], "pending");
        app.run_jobs().await;
        let done = status(&app, &s, id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["output_data"]["body"], "booked");
        let l = logs(&app, &s, id).await;
        assert_eq!(rows(&l, "prep").len(), 1, "completed steps are reused, not re-run");
        let book: Vec<(i64, String)> = rows(&l, "book").iter().map(|r| (r["attempt"].as_i64().unwrap(), r["status"].as_str().unwrap().to_owned())).collect();
        assert_eq!(book, vec![(1, "failed".into()), (2, "completed".into())]);
        app.post(&format!("/api/executions/{id}/retry"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
    }

    async fn a_failure_starts_the_named_error_workflow(app) {
        let s = app.signup().await;
        let handler = app.create_workflow(&s, "On failure", json!({
            "nodes": [{"id": "alert", "type": "trigger.manual"}, {"id": "note", "type": "code.js", "config": {"code": "return 'alert: ' + $json.error.message;"}}],
            "edges": [{"from": "alert", "to": "note"}]
        })).await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('DMS down')"}}],
            "edges": [{"from": "start", "to": "boom"}],
            "settings": {"error_workflow_id": handler["id"]}
        });
        let wf = app.create_workflow(&s, "Fragile", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"lead": 1})).await;
        assert_eq!(exec["status"], "failed");
        let runs = app.get(&format!("/api/workflows/{}/executions", handler["id"].as_str().unwrap()), &s.access_token).await;
        let run = &runs.body["items"][0];
        assert_eq!(run["status"], "completed", "{}", runs.body);
        assert_eq!(run["input_data"]["error"]["execution_id"], exec["id"]);
        assert_eq!(run["input_data"]["error"]["input"], json!({"lead": 1}));
        assert!(run["output_data"].as_str().unwrap().contains("DMS down"));
    }

    async fn an_error_workflow_must_exist_in_the_organization(app) {
        let s = app.signup().await;
        let other = app.signup().await;
        let foreign = app.create_workflow(&other, "Theirs", json!({"nodes": [{"id": "t", "type": "trigger.manual"}]})).await;
        let def = json!({"nodes": [{"id": "t", "type": "trigger.manual"}], "settings": {"error_workflow_id": foreign["id"]}});
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "x", "definition": def})).await;
        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "settings.error_workflow_id");
        let bad = json!({"nodes": [{"id": "t", "type": "trigger.manual"}], "settings": {"error_workflow_id": "nope"}});
        app.post("/api/workflows", &s.access_token, &json!({"name": "x", "definition": bad})).await.assert_error(422, "VALIDATION_ERROR");
    }

    async fn finished_executions_past_retention_are_pruned_and_waiting_ones_kept(app) {
        let s = app.signup().await;
        let quick = app.create_workflow(&s, "Quick", crate::fixtures::code("return 1;")).await;
        let done = app.execute_and_wait(&s, quick["id"].as_str().unwrap(), json!({})).await;
        let slow = app.create_workflow(&s, "Discount", approval_flow("fail")).await;
        let waiting = start(&app, &s, &slow, json!({"discount": 1})).await;
        app.run_jobs().await;
        // Keep nothing: every finished execution is past the cutoff.
        let policy = automatrix_engine::RetentionPolicy { keep_for: chrono::Duration::seconds(-60), ..automatrix_engine::RetentionPolicy::days(0) };
        let pruned = automatrix_engine::prune_once(&**app.store(), &policy).await.unwrap();
        assert_eq!(pruned, 1);
        app.get(&format!("/api/executions/{}", done["id"].as_str().unwrap()), &s.access_token).await.assert_error(404, "NOT_FOUND");
        assert_eq!(status(&app, &s, &waiting).await["status"], "waiting");
    }
}
