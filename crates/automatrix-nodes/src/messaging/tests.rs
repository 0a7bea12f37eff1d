//! `sms.send` and `chat.post` against local mocks of Twilio, Slack and Teams.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::*;
use crate::http::{HttpPolicy, Outbound};
use crate::test_support::run_with_credential;
use automatrix_core::Node;
use automatrix_core::node::ErrorClass;

/// What the mock received: path, headers, form or JSON body.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

async fn twilio(
    State(seen): State<Seen>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let fields: serde_json::Map<String, Value> = form
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    seen.lock()
        .unwrap()
        .push((sid.clone(), headers, Value::Object(fields.clone())));
    match fields["To"].as_str() {
        Some("+15005550001") => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})),
        )
            .into_response(),
        Some("+15005550009") => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        _ => (
            StatusCode::CREATED,
            axum::Json(json!({"sid": "SM123", "status": "queued", "to": fields["To"], "from": fields.get("From"), "num_segments": "1"})),
        )
            .into_response(),
    }
}

async fn chat(
    State(seen): State<Seen>,
    Path(hook): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    seen.lock()
        .unwrap()
        .push((hook.clone(), HeaderMap::new(), body));
    if hook == "revoked" {
        return (StatusCode::NOT_FOUND, "no_service").into_response();
    }
    "ok".into_response()
}

async fn mock() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", post(twilio))
        .route("/services/{hook}", post(chat))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn outbound() -> Arc<Outbound> {
    Arc::new(Outbound::new(HttpPolicy::allow_all()))
}

fn twilio_credential(base: &str) -> (&'static str, &'static str, Value) {
    (
        "tw",
        "twilio",
        json!({"account_sid": "AC42", "auth_token": "tok-secret", "base_url": base, "from": "+15551230000"}),
    )
}

#[tokio::test]
async fn a_text_goes_to_the_e164_number_with_basic_auth_and_the_credentials_sender() {
    let (base, seen) = mock().await;
    let config = json!({"credential_id": "tw", "to": "(555) 987-6543", "body": "Your Civic is ready for pickup."});
    let out = run_with_credential(&SmsSend::new(outbound()), config, twilio_credential(&base))
        .await
        .expect("sent");
    assert_eq!(
        out.data,
        json!({"sid": "SM123", "status": "queued", "to": "+15559876543", "from": "+15551230000", "segments": 1})
    );
    let seen = seen.lock().unwrap();
    let (sid, headers, form) = &seen[0];
    assert_eq!(sid, "AC42");
    assert_eq!(headers["authorization"], "Basic QUM0Mjp0b2stc2VjcmV0");
    assert_eq!(form["To"], "+15559876543");
    assert_eq!(form["From"], "+15551230000");
    assert_eq!(form["Body"], "Your Civic is ready for pickup.");
}

#[tokio::test]
async fn a_messaging_service_sender_and_a_picture_are_sent_as_twilio_names_them() {
    let (base, seen) = mock().await;
    let config = json!({"credential_id": "tw", "to": "+44 20 7946 0958", "body": "Photos of your trade-in", "from": "MG9f00", "media_url": "https://cdn.dealer.example/1.jpg"});
    run_with_credential(&SmsSend::new(outbound()), config, twilio_credential(&base))
        .await
        .expect("sent");
    let form = &seen.lock().unwrap()[0].2;
    assert_eq!(form["MessagingServiceSid"], "MG9f00");
    assert!(form.get("From").is_none());
    assert_eq!(form["To"], "+442079460958");
    assert_eq!(form["MediaUrl"], "https://cdn.dealer.example/1.jpg");
}

#[tokio::test]
async fn refusals_are_fatal_with_the_providers_reason_and_outages_retryable() {
    let (base, seen) = mock().await;
    let node = SmsSend::new(outbound());
    let send = |to: &str| json!({"credential_id": "tw", "to": to, "body": "hi"});
    let refused = run_with_credential(&node, send("+15005550001"), twilio_credential(&base))
        .await
        .unwrap_err();
    assert_eq!(refused.class, ErrorClass::Fatal);
    assert!(
        refused
            .message
            .contains("not a valid phone number. (code 21211)"),
        "{}",
        refused.message
    );
    assert!(!refused.message.contains("tok-secret"));

    let outage = run_with_credential(&node, send("+15005550009"), twilio_credential(&base))
        .await
        .unwrap_err();
    assert_eq!(outage.class, ErrorClass::Retryable);

    let bad = run_with_credential(&node, send("12"), twilio_credential(&base))
        .await
        .unwrap_err();
    assert!(
        bad.message.contains("`to` is not a valid phone number"),
        "{}",
        bad.message
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "nothing sent for a bad number"
    );
}

#[test]
fn a_literal_bad_number_is_a_config_issue() {
    let issues = SmsSend::new(outbound())
        .check_config(&json!({"credential_id": "tw", "to": "555", "body": "x"}));
    assert_eq!(issues[0].field, "to");
}

fn hook(base: &str, name: &str) -> (&'static str, &'static str, Value) {
    (
        "hook",
        "chat_webhook",
        json!({"url": format!("{base}/services/{name}")}),
    )
}

#[tokio::test]
async fn a_slack_post_carries_the_title_text_and_blocks() {
    let (base, seen) = mock().await;
    let config = json!({"credential_id": "hook", "title": "New lead", "text": "Pat wants a Civic", "blocks": [{"type": "divider"}]});
    let out = run_with_credential(&ChatPost::new(outbound()), config, hook(&base, "T1"))
        .await
        .expect("posted");
    assert_eq!(out.data, json!({"status": 200, "response": "ok"}));
    let body = &seen.lock().unwrap()[0].2;
    assert_eq!(
        body,
        &json!({"text": "*New lead*\nPat wants a Civic", "blocks": [{"type": "divider"}]})
    );
}

#[tokio::test]
async fn a_teams_post_is_an_adaptive_card() {
    let (base, seen) = mock().await;
    let config = json!({"credential_id": "hook", "format": "teams", "title": "DMS sync failed", "text": "3 repair orders were not imported."});
    run_with_credential(&ChatPost::new(outbound()), config, hook(&base, "teams"))
        .await
        .expect("posted");
    let body = &seen.lock().unwrap()[0].2;
    assert_eq!(body["type"], "message");
    let card = &body["attachments"][0]["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["body"][0]["text"], "DMS sync failed");
    assert_eq!(
        card["body"][1]["text"],
        "3 repair orders were not imported."
    );
}

#[tokio::test]
async fn a_revoked_webhook_fails_without_showing_its_secret_path() {
    let (base, _) = mock().await;
    let config = json!({"credential_id": "hook", "text": "hello"});
    let err = run_with_credential(&ChatPost::new(outbound()), config, hook(&base, "revoked"))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Fatal);
    assert!(err.message.contains("no_service"), "{}", err.message);
    assert!(!err.message.contains("/services/"), "{}", err.message);
}

#[tokio::test]
async fn private_webhook_addresses_are_refused_under_the_strict_policy() {
    let (base, seen) = mock().await;
    let strict = Arc::new(Outbound::new(HttpPolicy::strict()));
    let err = run_with_credential(
        &ChatPost::new(strict),
        json!({"credential_id": "hook", "text": "x"}),
        hook(&base, "T1"),
    )
    .await
    .unwrap_err();
    assert!(
        err.message
            .contains("refusing to connect to private address"),
        "{}",
        err.message
    );
    assert!(seen.lock().unwrap().is_empty());
}
