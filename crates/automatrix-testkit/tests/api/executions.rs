//! Executing workflows and reading what every step did; filters, pagination, cancel; runaway
//! scripts fail their step while the server stays healthy.

use automatrix_testkit::{MockServer, both_backends};
use axum::Json;
use axum::routing::post;
use serde_json::{Value, json};

use crate::fixtures;

fn steps(logs: &Value) -> Vec<(String, String)> {
    logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["node_id"].as_str().unwrap().to_owned(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

both_backends! {
    async fn executing_returns_at_once_and_a_worker_completes_the_run(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Router", fixtures::lead_router()).await;
        let res = app.post(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), &s.access_token, &json!({"input": {"score": 90, "email": "pat@buyer.example"}})).await;
        assert_eq!(res.status, 202, "{}", res.body);
        assert_eq!(res.body["status"], "pending");
        let id = res.body["execution_id"].as_str().unwrap().to_owned();
        let pending = app.get(&format!("/api/executions/{id}"), &s.access_token).await;
        assert_eq!(pending.body["status"], "pending");
        assert_eq!(app.run_jobs().await, 1);
        let done = app.get(&format!("/api/executions/{id}"), &s.access_token).await;
        assert_eq!(done.body["status"], "completed", "{}", done.body);
        assert_eq!(done.body["workflow_version"], 1);
        assert_eq!(done.body["dry_run"], false);
        assert_eq!(done.body["input_data"], json!({"score": 90, "email": "pat@buyer.example"}));
        assert_eq!(done.body["output_data"], json!({"score": 90, "email": "pat@buyer.example", "priority": "hot"}));
        assert!(done.body["started_at"].is_string() && done.body["completed_at"].is_string());
    }

    async fn step_logs_show_every_step_including_skipped_ones(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Router", fixtures::lead_router()).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"score": 10})).await;
        assert_eq!(exec["output_data"], json!({"priority": "cold"}));
        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        let mut got = steps(&logs.body);
        got.sort();
        assert_eq!(got, vec![
            ("check".into(), "completed".into()), ("cold".into(), "completed".into()),
            ("hot".into(), "skipped".into()), ("lead".into(), "completed".into()),
        ]);
        let check = logs.body["items"].as_array().unwrap().iter().find(|s| s["node_id"] == "check").unwrap();
        assert_eq!(check["node_type"], "logic.if");
        assert_eq!(check["attempt"], 1);
        assert_eq!(check["output_port"], "false");
        assert_eq!(check["input_data"], json!({"score": 10}));
        assert_eq!(check["output_data"], json!({"score": 10}));
        assert!(check["error_message"].is_null());
        assert!(check["started_at"].is_string() && check["completed_at"].is_string());
        assert!(check["duration_ms"].as_i64().unwrap() >= 0);
    }

    async fn a_trigger_alone_still_records_its_step(app) {
        // A trigger's step is written with the next step's; here no step follows it.
        let s = app.signup().await;
        let alone = json!({"nodes": [{"id": "lead", "type": "trigger.manual"}], "edges": []});
        let wf = app.create_workflow(&s, "Just the trigger", alone).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"email": "ann@buyer.example"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"], json!({"email": "ann@buyer.example"}));
        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(steps(&logs.body), vec![("lead".into(), "completed".into())]);
    }

    async fn an_execution_runs_the_version_it_started_with(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Pinned", fixtures::code("return 'v1';")).await;
        let id = wf["id"].as_str().unwrap();
        let res = app.post(&format!("/api/workflows/{id}/execute"), &s.access_token, &json!({})).await;
        app.put(&format!("/api/workflows/{id}"), &s.access_token, &json!({"definition": fixtures::code("return 'v2';")})).await;
        app.run_jobs().await;
        let exec = app.get(&format!("/api/executions/{}", res.body["execution_id"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(exec.body["workflow_version"], 1);
        assert_eq!(exec.body["output_data"], "v1");
    }

    async fn an_http_step_calls_the_outside_service(app) {
        let mock = MockServer::start(axum::Router::new().route("/crm/leads", post(|Json(v): Json<Value>| async move { Json(json!({"received": v, "crm_id": 42})) }))).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "CRM push", fixtures::http_call(&mock.url("/crm/leads"))).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"name": "Pat"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"]["status"], 200);
        assert_eq!(exec["output_data"]["body"], json!({"received": {"lead": "Pat"}, "crm_id": 42}));
    }

    async fn a_failing_http_step_fails_the_execution_with_its_error(app) {
        let mock = MockServer::start(axum::Router::new().route("/crm/leads", post(|| async { (axum::http::StatusCode::BAD_REQUEST, "duplicate lead") }))).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "CRM push", fixtures::http_call(&mock.url("/crm/leads"))).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"name": "Pat"})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["output_data"].is_null());
        let msg = exec["error_message"].as_str().unwrap();
        assert!(msg.contains("call") && msg.contains("400"), "{msg}");
        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        let call = logs.body["items"].as_array().unwrap().iter().find(|s| s["node_id"] == "call").unwrap();
        assert_eq!(call["status"], "failed");
        assert!(call["error_message"].as_str().unwrap().contains("400"));
    }

    async fn an_infinite_loop_fails_its_step_and_the_server_stays_healthy(app) {
        let s = app.signup().await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "spin", "type": "code.js", "config": {"code": "while (true) {}", "timeout_ms": 200}}],
            "edges": [{"from": "start", "to": "spin"}]
        });
        let wf = app.create_workflow(&s, "Spin", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("longer than its limit"), "{exec}");
        assert_eq!(app.request(reqwest::Method::GET, "/health", None, None).await.status, 200);
        let again = app.create_workflow(&s, "Fine", fixtures::code("return 1 + 1;")).await;
        assert_eq!(app.execute_and_wait(&s, again["id"].as_str().unwrap(), json!({})).await["output_data"], 2);
    }

    async fn a_memory_bomb_fails_its_step_and_the_server_stays_healthy(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Bomb", fixtures::code("let a = []; while (true) { a.push('x'.repeat(1 << 20)); }")).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("memory"), "{exec}");
        assert_eq!(app.request(reqwest::Method::GET, "/health", None, None).await.status, 200);
    }

    async fn a_runaway_expression_fails_its_step(app) {
        let s = app.signup().await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "set", "type": "transform.set", "config": {"fields": {"x": "{{ (() => { while (true) {} })() }}"}}}],
            "edges": [{"from": "start", "to": "set"}]
        });
        let wf = app.create_workflow(&s, "Runaway", def).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("expression error"), "{exec}");
    }

    async fn executing_with_an_empty_body_uses_an_empty_input(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Echo", fixtures::code("return $trigger;")).await;
        let res = app.request(reqwest::Method::POST, &format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), Some(&s.access_token), None).await;
        assert_eq!(res.status, 202, "{}", res.body);
        app.run_jobs().await;
        let exec = app.get(&format!("/api/executions/{}", res.body["execution_id"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(exec.body["output_data"], json!({}));
    }

    async fn executions_filter_by_status_and_workflow_and_page_with_a_cursor(app) {
        let s = app.signup().await;
        let ok = app.create_workflow(&s, "Ok", fixtures::code("return 1;")).await;
        let bad = app.create_workflow(&s, "Bad", fixtures::code("throw new Error('no inventory');")).await;
        let ok_id = ok["id"].as_str().unwrap();
        for _ in 0..3 {
            app.execute_and_wait(&s, ok_id, json!({})).await;
        }
        app.execute_and_wait(&s, bad["id"].as_str().unwrap(), json!({})).await;
        let all = app.get("/api/executions", &s.access_token).await;
        assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
        let failed = app.get("/api/executions?status=failed", &s.access_token).await;
        assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);
        assert!(failed.body["items"][0]["error_message"].as_str().unwrap().contains("no inventory"));
        let of_ok = app.get(&format!("/api/executions?workflow_id={ok_id}&limit=2"), &s.access_token).await;
        assert_eq!(of_ok.body["items"].as_array().unwrap().len(), 2);
        let next = app.get(&format!("/api/executions?workflow_id={ok_id}&limit=2&cursor={}", of_ok.body["next_cursor"].as_str().unwrap()), &s.access_token).await;
        assert_eq!(next.body["items"].as_array().unwrap().len(), 1);
        assert!(next.body["next_cursor"].is_null());
        let nested = app.get(&format!("/api/workflows/{ok_id}/executions"), &s.access_token).await;
        assert_eq!(nested.body["items"].as_array().unwrap().len(), 3);
        let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(app.get(&format!("/api/executions?since={future}"), &s.access_token).await.body["items"], json!([]));
        assert_eq!(app.get(&format!("/api/executions?until={future}"), &s.access_token).await.body["items"].as_array().unwrap().len(), 4);
        app.get("/api/executions?status=exploded", &s.access_token).await.assert_error(400, "BAD_REQUEST");
        app.get("/api/executions?since=yesterday", &s.access_token).await.assert_error(400, "BAD_REQUEST");
        app.get("/api/executions?workflow_id=nope", &s.access_token).await.assert_error(400, "BAD_REQUEST");
    }

    async fn a_pending_execution_can_be_cancelled_and_never_runs(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Router", fixtures::lead_router()).await;
        let res = app.post(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), &s.access_token, &json!({"input": {"score": 1}})).await;
        let id = res.body["execution_id"].as_str().unwrap();
        let cancelled = app.post(&format!("/api/executions/{id}/cancel"), &s.access_token, &json!({})).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.body);
        assert_eq!(cancelled.body["status"], "cancelled");
        assert_eq!(app.run_jobs().await, 0);
        let logs = app.get(&format!("/api/executions/{id}/logs"), &s.access_token).await;
        assert_eq!(logs.body["items"], json!([]));
        app.post(&format!("/api/executions/{id}/cancel"), &s.access_token, &json!({})).await.assert_error(409, "CONFLICT");
    }

    async fn a_finished_execution_cannot_be_cancelled(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Quick", fixtures::code("return 1;")).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({})).await;
        let res = app.post(&format!("/api/executions/{}/cancel", exec["id"].as_str().unwrap()), &s.access_token, &json!({})).await;
        res.assert_error(409, "CONFLICT");
    }

    async fn a_running_execution_is_cancelled_promptly(app) {
        let s = app.signup().await;
        let def = json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "slow", "type": "code.js", "config": {"code": "const end = Date.now() + 20000; while (Date.now() < end) {} return 1;", "timeout_ms": 30000}},
                      {"id": "after", "type": "transform.set", "config": {"fields": {"x": 1}}}],
            "edges": [{"from": "start", "to": "slow"}, {"from": "slow", "to": "after"}]
        });
        let wf = app.create_workflow(&s, "Slow", def).await;
        let res = app.post(&format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap()), &s.access_token, &json!({})).await;
        let id = res.body["execution_id"].as_str().unwrap().to_owned();
        let worker = app.worker.clone();
        let run = tokio::spawn(async move { worker.process_next().await.unwrap() });
        // Wait (by polling the API, not sleeping blindly) until the slow step is running.
        let mut running = false;
        for _ in 0..200 {
            let logs = app.get(&format!("/api/executions/{id}/logs"), &s.access_token).await;
            if steps(&logs.body).contains(&("slow".into(), "running".into())) { running = true; break; }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(running, "the slow step never started");
        let started = std::time::Instant::now();
        let cancelled = app.post(&format!("/api/executions/{id}/cancel"), &s.access_token, &json!({})).await;
        assert_eq!(cancelled.body["status"], "cancelled");
        assert!(run.await.unwrap());
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "cancel took {:?}", started.elapsed());
        let exec = app.get(&format!("/api/executions/{id}"), &s.access_token).await;
        assert_eq!(exec.body["status"], "cancelled");
        let got = steps(&app.get(&format!("/api/executions/{id}/logs"), &s.access_token).await.body);
        assert!(!got.iter().any(|(n, _)| n == "after"), "{got:?}");
    }
}
