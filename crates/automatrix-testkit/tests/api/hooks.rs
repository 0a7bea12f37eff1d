//! `ANY /hooks/{token}`: the request becomes the execution input; methods, signatures and
//! header secrets are enforced; limits, idempotency, and answering with the workflow's output.

use automatrix_testkit::{Session, TestApp, both_backends};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

const JSON: (&str, &str) = ("content-type", "application/json");

/// A webhook trigger with `config`, then a step that marks the lead.
fn hook_workflow(config: Value) -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.webhook", "config": config},
            {"id": "mark", "type": "transform.set", "config": {"fields": {"seen": true, "email": "{{ $trigger.body.email }}"}, "keep_input": false}}
        ],
        "edges": [{"from": "lead", "to": "mark"}]
    })
}

/// Creates the workflow and returns it with its webhook path.
async fn hook(app: &TestApp, s: &Session, config: Value) -> (Value, String) {
    let wf = app
        .create_workflow(s, "Website leads", hook_workflow(config))
        .await;
    let path = wf["webhook_url"]
        .as_str()
        .expect("a webhook URL")
        .to_owned();
    (wf, path)
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn executions(app: &TestApp, s: &Session, wf: &Value) -> Vec<Value> {
    let res = app
        .get(
            &format!("/api/workflows/{}/executions", wf["id"].as_str().unwrap()),
            &s.access_token,
        )
        .await;
    res.body["items"].as_array().unwrap().clone()
}

async fn input_of(app: &TestApp, s: &Session, res: &automatrix_testkit::Res) -> Value {
    let id = res.body["execution_id"].as_str().unwrap();
    app.get(&format!("/api/executions/{id}"), &s.access_token)
        .await
        .body["input_data"]
        .clone()
}

/// Runs jobs until one ran: for a call that waits while its execution is queued.
async fn run_one(app: &TestApp) {
    while app.run_jobs().await == 0 {
        tokio::task::yield_now().await;
    }
}

both_backends! {
    async fn a_call_is_stored_and_its_request_becomes_the_input(app) {
        let s = app.signup().await;
        let (wf, path) = hook(&app, &s, json!({})).await;
        let token = path.trim_start_matches("/hooks/");
        assert!(token.len() >= 22, "at least 128 bits: {token}");

        let body = json!({"email": "ann@buyer.example", "vehicle": "2024 Tacoma"});
        let res = app.hook(Method::POST, &format!("{path}?source=website&utm=spring"), &[JSON, ("X-Dealer-Id", "42")], body.to_string()).await;
        assert_eq!(res.status, 202, "{}", res.body);
        let id = res.body["execution_id"].as_str().expect("the execution id").to_owned();
        assert_eq!(app.run_jobs().await, 1);

        let exec = app.get(&format!("/api/executions/{id}"), &s.access_token).await.body;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["workflow_id"], wf["id"]);
        let input = &exec["input_data"];
        assert_eq!(input["body"], body);
        assert_eq!(input["query"], json!({"source": "website", "utm": "spring"}));
        assert_eq!(input["method"], "POST");
        assert_eq!(input["headers"]["x-dealer-id"], "42");
        assert_eq!(input["headers"]["content-type"], "application/json");
        assert_eq!(exec["output_data"], json!({"seen": true, "email": "ann@buyer.example"}));
    }

    async fn form_posts_become_maps_other_bodies_text_and_bad_json_a_400(app) {
        let s = app.signup().await;
        let (wf, path) = hook(&app, &s, json!({})).await;
        let form = app.hook(Method::POST, &path, &[("content-type", "application/x-www-form-urlencoded")], "email=ann%40buyer.example&name=Ann+Lee").await;
        assert_eq!(form.status, 202);
        let adf = "<?xml version=\"1.0\"?><adf><prospect><customer><contact><email>bo@buyer.example</email></contact></customer></prospect></adf>";
        let xml = app.hook(Method::POST, &path, &[("content-type", "application/xml")], adf).await;
        assert_eq!(xml.status, 202);
        let empty = app.hook(Method::GET, &path, &[], "").await;
        assert_eq!(empty.status, 202);
        assert_eq!(app.run_jobs().await, 3);
        assert_eq!(input_of(&app, &s, &form).await["body"], json!({"email": "ann@buyer.example", "name": "Ann Lee"}));
        assert_eq!(input_of(&app, &s, &xml).await["body"], json!(adf));
        let get = input_of(&app, &s, &empty).await;
        assert_eq!((get["body"].clone(), get["method"].clone()), (Value::Null, json!("GET")));

        let bad = app.hook(Method::POST, &path, &[JSON], "{\"email\": ").await;
        bad.assert_error(400, "BAD_REQUEST");
        assert_eq!(executions(&app, &s, &wf).await.len(), 3, "nothing started");
    }

    async fn unknown_and_inactive_webhooks_are_not_found(app) {
        let s = app.signup().await;
        app.hook(Method::POST, "/hooks/no-such-token", &[JSON], "{}").await.assert_error(404, "NOT_FOUND");
        let (wf, path) = hook(&app, &s, json!({})).await;
        let off = app.put(&format!("/api/workflows/{}", wf["id"].as_str().unwrap()), &s.access_token, &json!({"is_active": false})).await;
        assert_eq!(off.status, 200, "{}", off.body);
        app.hook(Method::POST, &path, &[JSON], "{}").await.assert_error(404, "NOT_FOUND");
        assert!(executions(&app, &s, &wf).await.is_empty());
    }

    async fn only_the_configured_methods_are_accepted(app) {
        let s = app.signup().await;
        let (_, path) = hook(&app, &s, json!({"methods": ["POST", "PUT"]})).await;
        app.hook(Method::GET, &path, &[], "").await.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(app.hook(Method::PUT, &path, &[JSON], "{}").await.status, 202);
    }

    async fn a_secret_requires_the_hmac_signature_of_the_body(app) {
        let s = app.signup().await;
        let secret = "a-long-random-webhook-secret";
        let (wf, path) = hook(&app, &s, json!({"secret": secret})).await;
        let body = json!({"email": "ann@buyer.example"}).to_string();
        app.hook(Method::POST, &path, &[JSON], body.clone()).await.assert_error(401, "UNAUTHORIZED");
        let wrong = sign("another-secret-entirely", body.as_bytes());
        app.hook(Method::POST, &path, &[JSON, ("X-Signature-256", &wrong)], body.clone()).await.assert_error(401, "UNAUTHORIZED");
        let other_body = sign(secret, b"{}");
        app.hook(Method::POST, &path, &[JSON, ("X-Signature-256", &other_body)], body.clone()).await.assert_error(401, "UNAUTHORIZED");
        app.hook(Method::POST, &path, &[JSON, ("X-Signature-256", "sha256=zz")], body.clone()).await.assert_error(401, "UNAUTHORIZED");
        assert!(executions(&app, &s, &wf).await.is_empty());

        let right = sign(secret, body.as_bytes());
        let res = app.hook(Method::POST, &path, &[JSON, ("X-Signature-256", &right)], body).await;
        assert_eq!(res.status, 202, "{}", res.body);
        assert!(!res.body.to_string().contains(secret));
    }

    async fn a_required_header_must_carry_its_value(app) {
        let s = app.signup().await;
        let (_, path) = hook(&app, &s, json!({"header": {"name": "X-Dealer-Key", "value": "k-1234"}})).await;
        app.hook(Method::POST, &path, &[JSON], "{}").await.assert_error(401, "UNAUTHORIZED");
        app.hook(Method::POST, &path, &[JSON, ("X-Dealer-Key", "k-9999")], "{}").await.assert_error(401, "UNAUTHORIZED");
        assert_eq!(app.hook(Method::POST, &path, &[JSON, ("X-Dealer-Key", "k-1234")], "{}").await.status, 202);
    }

    async fn a_body_over_the_limit_is_refused(app) {
        let s = app.signup().await;
        let (wf, path) = hook(&app, &s, json!({})).await;
        let big = "x".repeat(1024 * 1024 + 1);
        app.hook(Method::POST, &path, &[("content-type", "text/plain")], big).await.assert_error(413, "PAYLOAD_TOO_LARGE");
        let just = "x".repeat(1024 * 1024);
        assert_eq!(app.hook(Method::POST, &path, &[("content-type", "text/plain")], just).await.status, 202);
        assert_eq!(executions(&app, &s, &wf).await.len(), 1);
    }

    async fn calls_over_the_rate_limit_get_429_with_retry_after(app) {
        let s = app.signup().await;
        let (wf, path) = hook(&app, &s, json!({"rate_limit": {"requests": 2, "per_seconds": 3600}})).await;
        let (_, other) = hook(&app, &s, json!({"rate_limit": {"requests": 2, "per_seconds": 3600}})).await;
        for _ in 0..2 {
            assert_eq!(app.hook(Method::POST, &path, &[JSON], "{}").await.status, 202);
        }
        let over = app.hook(Method::POST, &path, &[JSON], "{}").await;
        over.assert_error(429, "RATE_LIMITED");
        let retry: u64 = over.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=1800).contains(&retry), "one call per 30 min: {retry}");
        assert_eq!(app.hook(Method::POST, &other, &[JSON], "{}").await.status, 202, "each webhook has its own");
        assert_eq!(executions(&app, &s, &wf).await.len(), 2);
    }

    async fn a_repeated_idempotency_key_starts_nothing_new(app) {
        let s = app.signup().await;
        let (wf, path) = hook(&app, &s, json!({})).await;
        let key = ("Idempotency-Key", "lead-8841");
        let first = app.hook(Method::POST, &path, &[JSON, key], "{\"n\": 1}").await;
        assert_eq!(first.status, 202);
        assert!(first.headers.get("idempotent-replayed").is_none());
        let again = app.hook(Method::POST, &path, &[JSON, key], "{\"n\": 2}").await;
        assert_eq!(again.status, 202);
        assert_eq!(again.body["execution_id"], first.body["execution_id"]);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        let other = app.hook(Method::POST, &path, &[JSON, ("Idempotency-Key", "lead-8842")], "{}").await;
        assert_ne!(other.body["execution_id"], first.body["execution_id"]);
        assert_eq!(executions(&app, &s, &wf).await.len(), 2);
        assert_eq!(app.run_jobs().await, 2);
    }

    async fn on_completion_answers_with_the_output_or_the_failure_or_the_id_in_time(app) {
        let s = app.signup().await;
        let (_, path) = hook(&app, &s, json!({"respond": "on_completion"})).await;
        let call = app.hook(Method::POST, &path, &[JSON], json!({"email": "ann@buyer.example"}).to_string());
        let (res, ()) = tokio::join!(call, run_one(&app));
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body, json!({"seen": true, "email": "ann@buyer.example"}));

        let failing = json!({
            "nodes": [
                {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('crm is down: secret-host.internal')"}}
            ],
            "edges": [{"from": "lead", "to": "boom"}]
        });
        let wf = app.create_workflow(&s, "Failing", failing).await;
        let path = wf["webhook_url"].as_str().unwrap().to_owned();
        let (res, ()) = tokio::join!(app.hook(Method::POST, &path, &[JSON], "{}"), run_one(&app));
        res.assert_error(500, "EXECUTION_FAILED");
        assert!(!res.body.to_string().contains("secret-host"), "the workflow's error stays inside: {}", res.body);

        // A respond.webhook step sets the answer: status, headers and body.
        let replying = json!({
            "nodes": [
                {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                {"id": "reply", "type": "respond.webhook", "config": {"status": 201, "body": {"received": "{{ $trigger.body.email }}"}, "headers": {"X-Lead-Route": "bdc"}}},
                {"id": "after", "type": "transform.set", "config": {"fields": {"done": true}}}
            ],
            "edges": [{"from": "lead", "to": "reply"}, {"from": "reply", "to": "after"}]
        });
        let wf = app.create_workflow(&s, "Replying", replying).await;
        let path = wf["webhook_url"].as_str().unwrap().to_owned();
        let call = app.hook(Method::POST, &path, &[JSON], json!({"email": "cy@buyer.example"}).to_string());
        let (res, ()) = tokio::join!(call, run_one(&app));
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.body, json!({"received": "cy@buyer.example"}));
        assert_eq!(res.headers["x-lead-route"], "bdc");

        let text = json!({
            "nodes": [
                {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                {"id": "reply", "type": "respond.webhook", "config": {"body": "OK", "headers": {"Content-Type": "text/plain"}}}
            ],
            "edges": [{"from": "lead", "to": "reply"}]
        });
        let wf = app.create_workflow(&s, "Plain", text).await;
        let path = wf["webhook_url"].as_str().unwrap().to_owned();
        let (res, ()) = tokio::join!(app.hook(Method::POST, &path, &[JSON], "{}"), run_one(&app));
        assert_eq!(res.status, 200);
        assert_eq!(res.headers["content-type"], "text/plain");

        // Nobody runs it: the caller gets the id when its wait is over.
        let (_, path) = hook(&app, &s, json!({"respond": "on_completion", "timeout_ms": 50})).await;
        let res = app.hook(Method::POST, &path, &[JSON], "{}").await;
        assert_eq!(res.status, 202, "{}", res.body);
        assert!(res.body["execution_id"].is_string());
        assert_eq!(app.run_jobs().await, 1);
    }
}

/// `serve` runs a webhook answered on completion in the request's process, without the queue.
mod run_here {
    use super::*;

    both_backends! {
        async fn a_call_answered_on_completion_runs_at_once_in_the_receiving_process(app) {
            app.engine.run_here(&app.worker, 4);
            let s = app.signup().await;
            let (wf, path) = hook(&app, &s, json!({"respond": "on_completion"})).await;
            let body = json!({"email": "ann@buyer.example"}).to_string();

            // No worker claims anything: the call itself runs the workflow.
            let res = app.hook(Method::POST, &path, &[JSON, ("Idempotency-Key", "lead-7")], body.clone()).await;
            assert_eq!(res.status, 200, "{}", res.body);
            assert_eq!(res.body, json!({"seen": true, "email": "ann@buyer.example"}));
            assert_eq!(app.run_jobs().await, 0, "nothing was queued");
            let runs = executions(&app, &s, &wf).await;
            assert_eq!(runs.len(), 1);
            assert_eq!(runs[0]["status"], "completed");
            let id = runs[0]["id"].as_str().unwrap();
            let logs = app.get(&format!("/api/executions/{id}/logs"), &s.access_token).await.body;
            let steps: Vec<(&str, &str)> = logs["items"].as_array().unwrap().iter()
                .map(|l| (l["node_id"].as_str().unwrap(), l["status"].as_str().unwrap())).collect();
            assert_eq!(steps, [("lead", "completed"), ("mark", "completed")], "every step persisted");

            // A repeat answers from the first execution without running anything.
            let again = app.hook(Method::POST, &path, &[JSON, ("Idempotency-Key", "lead-7")], body).await;
            assert_eq!(again.headers["idempotent-replayed"], "true");
            assert_eq!(executions(&app, &s, &wf).await.len(), 1);
        }

        async fn a_run_here_that_fails_or_outlasts_the_wait_answers_like_a_queued_one(app) {
            app.engine.run_here(&app.worker, 4);
            let s = app.signup().await;
            let failing = json!({
                "nodes": [
                    {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                    {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('crm is down')"}}
                ],
                "edges": [{"from": "lead", "to": "boom"}]
            });
            let wf = app.create_workflow(&s, "Failing", failing).await;
            let res = app.hook(Method::POST, wf["webhook_url"].as_str().unwrap(), &[JSON], "{}").await;
            res.assert_error(500, "EXECUTION_FAILED");

            // The wait ends first: 202 with the id, and the run still finishes.
            let slow = json!({
                "nodes": [
                    {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion", "timeout_ms": 20}},
                    {"id": "nap", "type": "code.js", "config": {"code": "const until = Date.now() + 300; while (Date.now() < until) {} return {napped: true};"}}
                ],
                "edges": [{"from": "lead", "to": "nap"}]
            });
            let wf = app.create_workflow(&s, "Slow", slow).await;
            let res = app.hook(Method::POST, wf["webhook_url"].as_str().unwrap(), &[JSON], "{}").await;
            assert_eq!(res.status, 202, "{}", res.body);
            let id = res.body["execution_id"].as_str().unwrap().to_owned();
            let done = app.engine.wait_for_answer(s.organization_id, id.parse().unwrap(), false, std::time::Duration::from_secs(20)).await.unwrap();
            assert!(matches!(done, automatrix_engine::Awaited::Finished(ref e) if e.output == Some(json!({"napped": true}))), "{done:?}");

            // A respond.webhook step answers before the run ends.
            let replying = json!({
                "nodes": [
                    {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                    {"id": "reply", "type": "respond.webhook", "config": {"status": 201, "body": {"ok": true}}},
                    {"id": "after", "type": "transform.set", "config": {"fields": {"done": true}}}
                ],
                "edges": [{"from": "lead", "to": "reply"}, {"from": "reply", "to": "after"}]
            });
            let wf = app.create_workflow(&s, "Replying", replying).await;
            let res = app.hook(Method::POST, wf["webhook_url"].as_str().unwrap(), &[JSON], "{}").await;
            assert_eq!((res.status, res.body), (201, json!({"ok": true})));
            assert_eq!(app.run_jobs().await, 0, "nothing was queued");
        }
    }
}
