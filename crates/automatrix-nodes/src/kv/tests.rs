use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;

use super::*;
use crate::test_support::{FakeServices, run};

fn services() -> Arc<FakeServices> {
    FakeServices::new(Ok(Value::Null))
}

async fn kv(services: &Arc<FakeServices>, config: Value) -> Result<Value, NodeError> {
    let ctx = services.ctx("kv", &json!({}));
    DataKv
        .execute(&ctx, config, json!({}))
        .await
        .map(|o| o.data)
}

#[tokio::test]
async fn only_the_first_set_of_a_lead_stores_and_a_repeat_sees_the_first_value() {
    let store = services();
    let set = |value: &str| json!({"operation": "set", "key": "lead:A-1", "value": value, "only_if_absent": true});

    let first = kv(&store, set("run-1")).await.unwrap();
    let repeat = kv(&store, set("run-2")).await.unwrap();
    let read = kv(&store, json!({"operation": "get", "key": "lead:A-1"}))
        .await
        .unwrap();

    assert_eq!(
        first,
        json!({"key": "lead:A-1", "value": "run-1", "stored": true})
    );
    assert_eq!(
        repeat,
        json!({"key": "lead:A-1", "value": "run-1", "stored": false})
    );
    assert_eq!(
        read,
        json!({"key": "lead:A-1", "value": "run-1", "found": true})
    );
}

#[tokio::test]
async fn a_get_of_an_absent_key_answers_the_default_and_found_false() {
    let store = services();

    let plain = kv(&store, json!({"operation": "get", "key": "k"}))
        .await
        .unwrap();
    let with_default = kv(
        &store,
        json!({"operation": "get", "key": "k", "default": 0}),
    )
    .await
    .unwrap();

    assert_eq!(plain, json!({"key": "k", "value": null, "found": false}));
    assert_eq!(
        with_default,
        json!({"key": "k", "value": 0, "found": false})
    );
}

#[tokio::test]
async fn increments_count_from_zero_and_keep_the_expiry_of_the_first() {
    let store = services();
    let before = Utc::now();

    let one = kv(
        &store,
        json!({"operation": "increment", "key": "texts", "ttl_seconds": 60}),
    )
    .await
    .unwrap();
    let first_expiry = store.expires_at("texts").unwrap();
    let three = kv(
        &store,
        json!({"operation": "increment", "key": "texts", "by": 2, "ttl_seconds": 3600}),
    )
    .await
    .unwrap();
    let half = kv(
        &store,
        json!({"operation": "increment", "key": "texts", "by": -0.5}),
    )
    .await
    .unwrap();

    assert_eq!(one, json!({"key": "texts", "value": 1}));
    assert_eq!(three, json!({"key": "texts", "value": 3}));
    assert_eq!(half, json!({"key": "texts", "value": 2.5}));
    assert!(
        first_expiry >= before + Duration::seconds(60)
            && first_expiry <= Utc::now() + Duration::seconds(60)
    );
    assert_eq!(
        store.expires_at("texts"),
        Some(first_expiry),
        "a fixed window"
    );
}

#[tokio::test]
async fn a_set_gives_the_entry_a_new_expiry_or_none() {
    let store = services();
    let before = Utc::now();

    kv(
        &store,
        json!({"operation": "set", "key": "sync", "value": 1, "ttl_seconds": 90}),
    )
    .await
    .unwrap();
    let with_ttl = store.expires_at("sync").unwrap();
    kv(
        &store,
        json!({"operation": "set", "key": "sync", "value": 2}),
    )
    .await
    .unwrap();

    assert!(
        with_ttl >= before + Duration::seconds(90)
            && with_ttl <= Utc::now() + Duration::seconds(90)
    );
    assert_eq!(store.expires_at("sync"), None);
}

#[tokio::test]
async fn a_delete_says_whether_the_key_was_there() {
    let store = services();
    kv(
        &store,
        json!({"operation": "set", "key": "k", "value": {"a": 1}}),
    )
    .await
    .unwrap();

    let gone = kv(&store, json!({"operation": "delete", "key": "k"}))
        .await
        .unwrap();
    let again = kv(&store, json!({"operation": "delete", "key": "k"}))
        .await
        .unwrap();

    assert_eq!(gone, json!({"key": "k", "deleted": true}));
    assert_eq!(again, json!({"key": "k", "deleted": false}));
}

#[test]
fn fields_the_operation_does_not_use_and_a_set_without_value_are_config_issues() {
    let issues = |config: Value| DataKv.check_config(&config);

    let unused = issues(json!({"operation": "get", "key": "k", "by": 2, "only_if_absent": true}));
    let no_value = issues(json!({"operation": "set", "key": "k"}));
    let null_value = issues(json!({"operation": "set", "key": "k", "value": null}));

    let fields: Vec<&str> = unused.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["by", "only_if_absent"]);
    assert_eq!(unused[0].issue, "is not used by operation get");
    assert_eq!(
        no_value,
        vec![ConfigIssue {
            field: "value".into(),
            issue: "is required by operation set".into()
        }]
    );
    assert_eq!(null_value, vec![], "null is a value to store");
}

#[tokio::test]
async fn a_key_or_value_past_the_limits_fails_the_step() {
    let store = services();
    let long_key = "k".repeat(MAX_KEY_CHARS + 1);
    let big = "x".repeat(MAX_VALUE_BYTES);

    let key_err = kv(&store, json!({"operation": "get", "key": long_key}))
        .await
        .unwrap_err();
    let empty_err = kv(&store, json!({"operation": "get", "key": ""}))
        .await
        .unwrap_err();
    let value_err = kv(
        &store,
        json!({"operation": "set", "key": "k", "value": big}),
    )
    .await
    .unwrap_err();

    assert!(!key_err.is_retryable());
    assert_eq!(
        key_err.message,
        "data.kv: `key` must be 1 to 512 characters long, not 513"
    );
    assert!(empty_err.message.contains("not 0"), "{}", empty_err.message);
    assert_eq!(
        value_err.message,
        "data.kv: the value is 65538 bytes as JSON; at most 65536 are stored"
    );
}

#[tokio::test]
async fn incrementing_a_value_that_is_not_a_number_fails_the_step() {
    let store = services();
    kv(
        &store,
        json!({"operation": "set", "key": "k", "value": "ten"}),
    )
    .await
    .unwrap();

    let err = kv(&store, json!({"operation": "increment", "key": "k"}))
        .await
        .unwrap_err();

    assert!(!err.is_retryable());
    assert!(err.message.contains("is not a number"), "{}", err.message);
}

#[tokio::test]
async fn without_a_store_the_step_fails_saying_so() {
    let err = run(&DataKv, json!({"operation": "get", "key": "k"}), json!({}))
        .await
        .unwrap_err();

    assert!(err.message.contains("need a server"), "{}", err.message);
}
