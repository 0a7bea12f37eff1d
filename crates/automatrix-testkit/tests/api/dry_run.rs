//! Dry runs over HTTP: `POST /api/workflows/{id}/execute` with `"dry_run": true` runs the
//! workflow with every side effect previewed instead of done (no mail reaches the SMTP sink, no
//! request but reads reaches the mock, nothing is stored), secrets stay out of the previews
//! and logs, and the execution is marked a dry run wherever it shows.

use std::sync::{Arc, Mutex};

use automatrix_core::KvOp;
use automatrix_testkit::{MockServer, Session, SmtpSink, TestApp, both_backends};
use axum::extract::{Request, State};
use chrono::Utc;
use serde_json::{Value, json};

const SMTP_PASSWORD: &str = "smtp-pw-d41e";
const AUTH_TOKEN: &str = "twilio-tok-8b2c";
const CRM_TOKEN: &str = "crm-bearer-77f0";

/// `METHOD /path` of every request the mock got.
type Seen = Arc<Mutex<Vec<String>>>;

/// Answers every request `{"stock": 3}` (Twilio's fields for the SMS path) and records it.
async fn outside_world() -> (MockServer, Seen) {
    let seen: Seen = Arc::default();
    let router = axum::Router::new()
        .fallback(|State(seen): State<Seen>, req: Request| async move {
            let path = req.uri().path().to_owned();
            seen.lock()
                .unwrap()
                .push(format!("{} {path}", req.method()));
            let status = if path.ends_with("Messages.json") {
                201
            } else {
                200
            };
            let code = axum::http::StatusCode::from_u16(status).unwrap();
            (
                code,
                axum::Json(json!({"stock": 3, "sid": "SM1", "status": "queued"})),
            )
        })
        .with_state(seen.clone());
    (MockServer::start(router).await, seen)
}

/// Lead in → inventory read (GET) → dedupe entry → email → SMS → chat → CRM (POST).
async fn lead_workflow(app: &TestApp, s: &Session, mock: &MockServer, sink: &SmtpSink) -> String {
    let smtp = app
        .create_credential(
            s,
            "Relay",
            "smtp",
            sink.credential(Some(("sales", SMTP_PASSWORD))),
        )
        .await;
    let twilio = app.create_credential(s, "Twilio", "twilio", json!({
        "account_sid": "AC7", "auth_token": AUTH_TOKEN, "base_url": mock.url(""), "from": "+15550001111"
    })).await;
    let slack = app
        .create_credential(
            s,
            "Sales",
            "chat_webhook",
            json!({"url": mock.url("/services/T1/B2/xyz")}),
        )
        .await;
    let crm = app
        .create_credential(s, "CRM", "http_bearer", json!({"token": CRM_TOKEN}))
        .await;
    let wf = app.create_workflow(s, "Speed to lead", json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "stock", "type": "http.request", "config": {"url": mock.url("/inventory"), "query": {"model": "{{ $json.model }}"}}},
            {"id": "seen", "type": "data.kv", "config": {"operation": "set", "key": "lead:{{ $trigger.email }}", "value": "{{ $execution.id }}"}},
            {"id": "mail", "type": "email.send", "config": {"credential_id": smtp, "from": "Sales <sales@sunset.example>", "to": "{{ $trigger.email }}", "subject": "Your {{ $trigger.model }}", "text": "{{ $node.stock.body.stock }} in stock."}},
            {"id": "text", "type": "sms.send", "config": {"credential_id": twilio, "to": "{{ $trigger.phone }}", "body": "Hi {{ $trigger.name }}!"}},
            {"id": "notify", "type": "chat.post", "config": {"credential_id": slack, "text": "New lead: {{ $trigger.name }}"}},
            {"id": "crm", "type": "http.request", "config": {"method": "POST", "url": mock.url("/leads"), "credential_id": crm, "body": {"email": "{{ $trigger.email }}"}}}
        ],
        "edges": [
            {"from": "lead", "to": "stock"}, {"from": "stock", "to": "seen"}, {"from": "seen", "to": "mail"},
            {"from": "mail", "to": "text"}, {"from": "text", "to": "notify"}, {"from": "notify", "to": "crm"}
        ]
    })).await;
    wf["id"].as_str().unwrap().to_owned()
}

/// A tenant with the lead workflow, and the outside world it talks to.
struct Lead {
    mock: MockServer,
    seen: Seen,
    sink: SmtpSink,
    s: Session,
    wf: String,
}

async fn lead(app: &TestApp) -> Lead {
    let (mock, seen) = outside_world().await;
    let sink = SmtpSink::builder()
        .login("sales", SMTP_PASSWORD)
        .start()
        .await;
    let s = app.signup().await;
    let wf = lead_workflow(app, &s, &mock, &sink).await;
    Lead {
        mock,
        seen,
        sink,
        s,
        wf,
    }
}

const LEAD: &str =
    r#"{"name": "Pat", "email": "pat@lead.example", "phone": "555-222-3333", "model": "Civic"}"#;

/// Starts an execution (`dry_run` as given), runs it and answers it with its step outputs.
async fn run(app: &TestApp, s: &Session, wf: &str, dry_run: bool) -> (Value, Value) {
    let input: Value = serde_json::from_str(LEAD).unwrap();
    let res = app
        .post(
            &format!("/api/workflows/{wf}/execute"),
            &s.access_token,
            &json!({"input": input, "dry_run": dry_run}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.body);
    assert_eq!(res.body["dry_run"], dry_run);
    let id = res.body["execution_id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let exec = app
        .get(&format!("/api/executions/{id}"), &s.access_token)
        .await
        .body;
    let logs = app
        .get(&format!("/api/executions/{id}/logs"), &s.access_token)
        .await
        .body;
    (exec, logs)
}

fn output<'a>(logs: &'a Value, node: &str) -> &'a Value {
    let step = logs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["node_id"] == node);
    &step.unwrap_or_else(|| panic!("no step {node}: {logs}"))["output_data"]
}

async fn stored(app: &TestApp, s: &Session, wf: &str) -> bool {
    let get = KvOp::Get {
        key: "lead:pat@lead.example".into(),
    };
    app.store()
        .kv(s.organization_id, wf.parse().unwrap(), get, Utc::now())
        .await
        .unwrap()
        .hit
}

both_backends! {
    async fn a_dry_run_previews_every_side_effect_and_sends_nothing_but_reads(app) {
        let Lead { mock, seen, sink, s, wf } = lead(&app).await;

        let (exec, logs) = run(&app, &s, &wf, true).await;

        assert_eq!((&exec["status"], &exec["dry_run"], &logs["dry_run"]), (&json!("completed"), &json!(true), &json!(true)), "{exec}");
        assert_eq!(*seen.lock().unwrap(), ["GET /inventory"], "only the read went out");
        assert!(sink.messages().is_empty(), "no mail was sent");
        assert!(!stored(&app, &s, &wf).await, "nothing was stored");

        assert_eq!(output(&logs, "stock")["body"]["stock"], 3);
        let kv = &output(&logs, "seen")["would_send"];
        assert_eq!((&kv["operation"], &kv["key"], &kv["value"]), (&json!("set"), &json!("lead:pat@lead.example"), &exec["id"]));
        let mail = &output(&logs, "mail")["would_send"];
        assert_eq!(mail["to"], json!(["pat@lead.example"]));
        assert_eq!((&mail["subject"], &mail["text"]), (&json!("Your Civic"), &json!("3 in stock.")));
        let sms = &output(&logs, "text")["would_send"];
        assert_eq!(sms["url"], mock.url("/2010-04-01/Accounts/AC7/Messages.json"));
        assert_eq!(sms["body"], "To=%2B15552223333&From=%2B15550001111&Body=Hi+Pat%21");
        assert_eq!(sms["headers"]["authorization"], "[redacted]");
        let chat = &output(&logs, "notify")["would_send"];
        assert_eq!(chat["body"], json!({"text": "New lead: Pat"}));
        let crm = &output(&logs, "crm")["would_send"];
        assert_eq!((&crm["method"], &crm["url"]), (&json!("POST"), &json!(mock.url("/leads"))));
        assert_eq!(crm["headers"]["authorization"], "[redacted]");
        assert_eq!(crm["body"], json!({"email": "pat@lead.example"}));
        assert_eq!(exec["output_data"]["dry_run"], true);
        let shown = format!("{exec}{logs}");
        for secret in [SMTP_PASSWORD, AUTH_TOKEN, CRM_TOKEN, "/services/T1"] {
            assert!(!shown.contains(secret), "{secret} shows: {shown}");
        }
    }

    async fn the_same_workflow_run_for_real_sends_everything(app) {
        // The mock serves until `_mock` goes out of scope.
        let Lead { mock: _mock, seen, sink, s, wf } = lead(&app).await;

        let (exec, logs) = run(&app, &s, &wf, false).await;

        assert_eq!((&exec["status"], &exec["dry_run"], &logs["dry_run"]), (&json!("completed"), &json!(false), &json!(false)), "{exec}");
        assert_eq!(
            *seen.lock().unwrap(),
            ["GET /inventory", "POST /2010-04-01/Accounts/AC7/Messages.json", "POST /services/T1/B2/xyz", "POST /leads"]
        );
        assert_eq!(sink.messages().len(), 1);
        assert!(stored(&app, &s, &wf).await);
        assert!(output(&logs, "crm").get("would_send").is_none());
    }

    async fn dry_runs_are_listed_as_such_and_filtered(app) {
        let Lead { mock: _mock, sink: _sink, s, wf, .. } = lead(&app).await;
        let (dry, _) = run(&app, &s, &wf, true).await;
        let (real, _) = run(&app, &s, &wf, false).await;

        let list = |q: &'static str| {
            let (app, s) = (&app, &s);
            async move {
                let res = app.get(&format!("/api/executions{q}"), &s.access_token).await;
                assert_eq!(res.status, 200, "{}", res.body);
                res.body["items"].as_array().unwrap().iter().map(|e| (e["id"].clone(), e["dry_run"].clone())).collect::<Vec<_>>()
            }
        };

        assert_eq!(list("").await, [(real["id"].clone(), json!(false)), (dry["id"].clone(), json!(true))]);
        assert_eq!(list("?dry_run=true").await, [(dry["id"].clone(), json!(true))]);
        assert_eq!(list("?dry_run=false").await, [(real["id"].clone(), json!(false))]);
        let bad = app.get("/api/executions?dry_run=maybe", &s.access_token).await;
        assert_eq!(bad.status, 400, "{}", bad.body);
    }

    async fn a_retried_dry_run_stays_a_dry_run(app) {
        // The feed fails the first read and answers the second.
        let calls: Seen = Arc::default();
        let router = axum::Router::new()
            .fallback(|State(calls): State<Seen>, req: Request| async move {
                let mut calls = calls.lock().unwrap();
                calls.push(format!("{} {}", req.method(), req.uri().path()));
                let status = if calls.len() == 1 { 503 } else { 200 };
                (axum::http::StatusCode::from_u16(status).unwrap(), axum::Json(json!({"ok": true})))
            })
            .with_state(calls.clone());
        let mock = MockServer::start(router).await;
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "Feed", json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "feed", "type": "http.request", "config": {"url": mock.url("/feed")}},
                {"id": "push", "type": "http.request", "config": {"method": "PUT", "url": mock.url("/dms"), "body": "{{ $json.body }}"}}
            ],
            "edges": [{"from": "start", "to": "feed"}, {"from": "feed", "to": "push"}]
        })).await;
        let wf = wf["id"].as_str().unwrap();

        let (failed, _) = run(&app, &s, wf, true).await;
        let id = failed["id"].as_str().unwrap();
        let retried = app.post(&format!("/api/executions/{id}/retry"), &s.access_token, &json!({})).await;
        app.run_jobs().await;
        let done = app.get(&format!("/api/executions/{id}"), &s.access_token).await.body;

        assert_eq!((&failed["status"], &failed["dry_run"]), (&json!("failed"), &json!(true)), "{failed}");
        assert_eq!((retried.status, &retried.body["dry_run"]), (202, &json!(true)), "{}", retried.body);
        assert_eq!((&done["status"], &done["dry_run"]), (&json!("completed"), &json!(true)), "{done}");
        assert_eq!(done["output_data"]["would_send"]["body"], json!({"ok": true}));
        assert_eq!(*calls.lock().unwrap(), ["GET /feed", "GET /feed"], "the PUT was not sent");
    }

    async fn the_error_workflow_and_a_sub_workflow_of_a_dry_run_are_dry_runs(app) {
        let Lead { mock, seen, sink: _sink, s, .. } = lead(&app).await;
        // Both posts to the CRM, the one a real run would send.
        let post = |url: String| json!({"id": "post", "type": "http.request", "config": {"method": "POST", "url": url, "body": "{{ $json }}"}});
        let one_post = |name: &'static str, url: String| {
            let (app, s) = (&app, &s);
            async move {
                let wf = app.create_workflow(s, name, json!({
                    "nodes": [{"id": "t", "type": "trigger.manual"}, post(url)],
                    "edges": [{"from": "t", "to": "post"}]
                })).await;
                wf["id"].as_str().unwrap().to_owned()
            }
        };
        let handler = one_post("On failure", mock.url("/alerts")).await;
        let child = one_post("Child", mock.url("/crm")).await;
        let parent = app.create_workflow(&s, "Parent", json!({
            "nodes": [
                {"id": "t", "type": "trigger.manual"},
                {"id": "call", "type": "flow.subworkflow", "config": {"workflow_id": child}},
                {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('DMS down')"}}
            ],
            "edges": [{"from": "t", "to": "call"}, {"from": "call", "to": "boom"}],
            "settings": {"error_workflow_id": handler}
        })).await;

        let (exec, logs) = run(&app, &s, parent["id"].as_str().unwrap(), true).await;
        let runs_of = |wf: &str| {
            let (app, s, wf) = (&app, &s, wf.to_owned());
            async move { app.get(&format!("/api/workflows/{wf}/executions"), &s.access_token).await.body["items"][0].clone() }
        };
        let (handled, called) = (runs_of(&handler).await, runs_of(&child).await);

        assert_eq!((&exec["status"], &exec["dry_run"]), (&json!("failed"), &json!(true)), "{exec}");
        assert_eq!((&called["status"], &called["dry_run"]), (&json!("completed"), &json!(true)), "{called}");
        assert_eq!(output(&logs, "call")["would_send"]["url"], mock.url("/crm"));
        assert_eq!((&handled["status"], &handled["dry_run"]), (&json!("completed"), &json!(true)), "{handled}");
        assert_eq!(handled["output_data"]["would_send"]["url"], mock.url("/alerts"));
        assert!(seen.lock().unwrap().is_empty(), "nothing was sent: {:?}", seen.lock().unwrap());
    }
}
