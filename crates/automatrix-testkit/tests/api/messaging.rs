//! sms.send and chat.post through the engine, with credentials, against local mocks.

use std::sync::{Arc, Mutex};

use automatrix_testkit::{MockServer, both_backends};
use axum::extract::{Form, State};
use axum::routing::post;
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<Value>>>;

async fn provider() -> (MockServer, Seen) {
    let seen: Seen = Arc::default();
    let router = axum::Router::new()
        .route("/2010-04-01/Accounts/AC7/Messages.json", post(|State(seen): State<Seen>, Form(form): Form<Vec<(String, String)>>| async move {
            let fields: serde_json::Map<String, Value> = form.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            seen.lock().unwrap().push(Value::Object(fields.clone()));
            (axum::http::StatusCode::CREATED, axum::Json(json!({"sid": "SM9", "status": "queued", "to": fields["To"], "from": fields["From"], "num_segments": "1"})))
        }))
        .route("/services/T1/B2/xyz", post(|State(seen): State<Seen>, axum::Json(body): axum::Json<Value>| async move {
            seen.lock().unwrap().push(body);
            "ok"
        }))
        .with_state(seen.clone());
    (MockServer::start(router).await, seen)
}

both_backends! {
    async fn a_new_lead_gets_a_text_and_the_sales_floor_a_chat_post(app) {
        let (mock, seen) = provider().await;
        let s = app.signup().await;
        let twilio = app.create_credential(&s, "Twilio", "twilio", json!({
            "account_sid": "AC7", "auth_token": "auth-secret-99", "base_url": mock.url(""), "from": "+15550001111"
        })).await;
        let slack = app.create_credential(&s, "Sales channel", "chat_webhook", json!({"url": mock.url("/services/T1/B2/xyz")})).await;
        let wf = app.create_workflow(&s, "Speed to lead", json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "text", "type": "sms.send", "config": {"credential_id": twilio, "to": "{{ $json.phone }}", "body": "Hi {{ $json.name }}, thanks for your interest!"}},
                {"id": "notify", "type": "chat.post", "config": {"credential_id": slack, "title": "New lead", "text": "{{ $trigger.name }} was texted ({{ $node.text.sid }})"}}
            ],
            "edges": [{"from": "lead", "to": "text"}, {"from": "text", "to": "notify"}]
        })).await;
        let exec = app.execute_and_wait(&s, wf["id"].as_str().unwrap(), json!({"name": "Pat", "phone": "555-222-3333"})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(exec["output_data"], json!({"status": 200, "response": "ok"}));
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0]["To"], "+15552223333");
        assert_eq!(seen[0]["Body"], "Hi Pat, thanks for your interest!");
        assert_eq!(seen[1]["text"], "*New lead*\nPat was texted (SM9)");
        let logs = app.get(&format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()), &s.access_token).await;
        let logs = logs.body.to_string();
        assert!(!logs.contains("auth-secret-99") && !logs.contains("/services/T1"), "{logs}");
    }

    async fn a_literal_bad_phone_number_is_refused_at_save(app) {
        let s = app.signup().await;
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Bad", "definition": {
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "text", "type": "sms.send", "config": {"credential_id": "x", "to": "12", "body": "hi"}}
            ],
            "edges": [{"from": "lead", "to": "text"}]
        }})).await;
        assert_eq!(res.status, 422, "{}", res.body);
        assert_eq!(res.body["error"]["details"][0]["path"], "nodes[1].config.to");
    }
}
