//! `http.request`: body types, credentials and `fail_on_status`, against the local mock.

use serde_json::{Value, json};

use super::tests::Mock;
use super::*;
use crate::test_support::{run, run_with_credential};

async fn echo_with(mock: &Mock, config: Value, credential: (&str, &str, Value)) -> Value {
    let mut config = config;
    config["url"] = json!(mock.url("127.0.0.1", "/echo?fixed=1"));
    config["credential_id"] = json!(credential.0);
    let out = run_with_credential(
        &HttpRequest::new(HttpPolicy::allow_all()),
        config,
        credential,
    )
    .await
    .expect("request");
    out.data["body"].clone()
}

#[tokio::test]
async fn each_credential_type_authenticates_the_request() {
    let mock = Mock::start().await;

    let bearer = echo_with(
        &mock,
        json!({}),
        ("c1", "http_bearer", json!({"token": "tok-123"})),
    )
    .await;
    assert_eq!(bearer["headers"]["authorization"], "Bearer tok-123");

    let basic = echo_with(
        &mock,
        json!({}),
        (
            "c2",
            "http_basic",
            json!({"username": "bdc", "password": "pw"}),
        ),
    )
    .await;
    assert_eq!(basic["headers"]["authorization"], "Basic YmRjOnB3");

    let header = echo_with(
        &mock,
        json!({"headers": {"X-Api-Key": "from-definition"}}),
        (
            "c3",
            "http_header",
            json!({"name": "X-Api-Key", "value": "k-789"}),
        ),
    )
    .await;
    assert_eq!(
        header["headers"]["x-api-key"], "k-789",
        "the credential wins"
    );

    let query = echo_with(
        &mock,
        json!({"query": {"page": 2}}),
        (
            "c4",
            "http_query",
            json!({"name": "api_key", "value": "q-456"}),
        ),
    )
    .await;
    assert_eq!(query["query"], "fixed=1&page=2&api_key=q-456");
}

#[tokio::test]
async fn a_credential_of_another_type_or_a_missing_one_fails_clearly() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::allow_all());
    let config = json!({"url": mock.url("127.0.0.1", "/echo"), "credential_id": "smtp1"});
    let smtp = (
        "smtp1",
        "smtp",
        json!({"host": "mail", "port": 25, "tls": "none", "password": "secret-pw"}),
    );
    let err = run_with_credential(&node, config.clone(), smtp)
        .await
        .unwrap_err();
    assert_eq!(err.class, automatrix_core::node::ErrorClass::Fatal);
    assert!(err.message.contains("`smtp`"), "{}", err.message);
    assert!(!err.message.contains("secret-pw"));

    let err = run(&node, config, json!({})).await.unwrap_err();
    assert!(err.message.contains("credential"), "{}", err.message);
    assert_eq!(mock.hits(), 0, "nothing was sent");
}

#[tokio::test]
async fn form_and_raw_bodies_are_sent_as_asked() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::allow_all());
    let url = mock.url("127.0.0.1", "/echo");

    let form = json!({"method": "POST", "url": url, "body_type": "form",
        "body": {"first": "Ana María", "tags": ["a", "b"], "skip": null, "n": 3}});
    let out = run(&node, form, json!({})).await.unwrap().data["body"].clone();
    assert_eq!(out["body"], "first=Ana+Mar%C3%ADa&n=3&tags=a&tags=b");
    assert_eq!(
        out["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );

    let raw = json!({"method": "POST", "url": url, "body_type": "raw",
        "headers": {"Content-Type": "application/xml"}, "body": "<adf/>"});
    let out = run(&node, raw, json!({})).await.unwrap().data["body"].clone();
    assert_eq!(out["body"], "<adf/>");
    assert_eq!(out["headers"]["content-type"], "application/xml");

    let not_fields = json!({"method": "POST", "url": url, "body_type": "form", "body": [1, 2]});
    let err = run(&node, not_fields, json!({})).await.unwrap_err();
    assert!(
        err.message.contains("form body must be an object"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn with_fail_on_status_false_an_error_status_is_an_output() {
    let mock = Mock::start().await;
    let node = HttpRequest::new(HttpPolicy::allow_all());
    let config = json!({"url": mock.url("127.0.0.1", "/status/404"), "fail_on_status": false});
    let out = run(&node, config, json!({})).await.expect("an output");
    assert_eq!(out.data["status"], 404);
    assert_eq!(out.data["body"], json!({"error": "nope"}));
}
