//! `data.kv` through the engine: entries outlive their execution, belong to their workflow,
//! and expire. Expiry is checked by asking the store "as of" a later time, not by sleeping.

use automatrix_core::KvOp;
use automatrix_testkit::{Session, TestApp, both_backends};
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

/// A lead dedupe: `data.kv` stores the lead id once, `logic.if` branches on `stored`.
async fn dedupe_workflow(app: &TestApp, s: &Session) -> String {
    let branch = |id: &str| json!({"id": id, "type": "transform.set", "config": {"fields": {"branch": id, "first_seen_by": "{{ $json.value }}"}, "keep_input": false}});
    let wf = app.create_workflow(s, "Dedupe leads", json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "first_time", "type": "data.kv", "config": {"operation": "set", "key": "lead:{{ $json.lead_id }}", "value": "{{ $execution.id }}", "only_if_absent": true, "ttl_seconds": 3600}},
            {"id": "is_new", "type": "logic.if", "config": {"condition": "{{ $json.stored }}"}},
            branch("new"), branch("duplicate")
        ],
        "edges": [
            {"from": "lead", "to": "first_time"}, {"from": "first_time", "to": "is_new"},
            {"from": "is_new", "output": "true", "to": "new"}, {"from": "is_new", "output": "false", "to": "duplicate"}
        ]
    })).await;
    wf["id"].as_str().unwrap().to_owned()
}

/// A workflow with one `data.kv` node of `config`.
async fn kv_workflow(app: &TestApp, s: &Session, name: &str, config: Value) -> String {
    let wf = app.create_workflow(s, name, json!({
        "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "kv", "type": "data.kv", "config": config}],
        "edges": [{"from": "start", "to": "kv"}]
    })).await;
    wf["id"].as_str().unwrap().to_owned()
}

fn uuid(text: &str) -> Uuid {
    text.parse().unwrap()
}

both_backends! {
    async fn the_same_lead_run_twice_takes_the_duplicate_branch_the_second_time(app) {
        let s = app.signup().await;
        let id = dedupe_workflow(&app, &s).await;

        let first = app.execute_and_wait(&s, &id, json!({"lead_id": "A-1042"})).await;
        let repeat = app.execute_and_wait(&s, &id, json!({"lead_id": "A-1042"})).await;
        let other = app.execute_and_wait(&s, &id, json!({"lead_id": "B-7"})).await;

        assert_eq!(first["status"], "completed", "{first}");
        assert_eq!(first["output_data"], json!({"branch": "new", "first_seen_by": first["id"]}));
        assert_eq!(repeat["output_data"], json!({"branch": "duplicate", "first_seen_by": first["id"]}));
        assert_eq!(other["output_data"]["branch"], "new");
    }

    async fn a_counter_is_incremented_across_runs(app) {
        let s = app.signup().await;
        let count = kv_workflow(&app, &s, "Count", json!({"operation": "increment", "key": "texts:{{ $json.phone }}"})).await;
        let read = kv_workflow(&app, &s, "Read", json!({"operation": "get", "key": "total", "default": 0})).await;

        let mut values = Vec::new();
        for _ in 0..3 {
            let run = app.execute_and_wait(&s, &count, json!({"phone": "+13125550142"})).await;
            values.push(run["output_data"]["value"].clone());
        }
        let unset = app.execute_and_wait(&s, &read, json!({})).await;

        assert_eq!(values, [json!(1), json!(2), json!(3)]);
        assert_eq!(unset["output_data"], json!({"key": "total", "value": 0, "found": false}));
    }

    async fn an_entry_expires_after_its_ttl_and_an_expired_one_is_stored_over(app) {
        let s = app.signup().await;
        let id = dedupe_workflow(&app, &s).await;
        let (org, wf) = (s.organization_id, uuid(&id));
        let get = || KvOp::Get { key: "lead:A-1042".into() };

        app.execute_and_wait(&s, &id, json!({"lead_id": "A-1042"})).await;
        let now = Utc::now();
        let within = app.store().kv(org, wf, get(), now + Duration::seconds(3590)).await.unwrap();
        let after = app.store().kv(org, wf, get(), now + Duration::seconds(3601)).await.unwrap();
        // An entry of an earlier run that has expired since.
        let set = KvOp::Set { key: "lead:B-7".into(), value: json!("old run"), expires_at: Some(now - Duration::seconds(1)), only_if_absent: false };
        app.store().kv(org, wf, set, now - Duration::seconds(60)).await.unwrap();
        let again = app.execute_and_wait(&s, &id, json!({"lead_id": "B-7"})).await;

        assert!(within.hit, "{within:?}");
        assert!(!after.hit, "{after:?}");
        assert_eq!(again["output_data"], json!({"branch": "new", "first_seen_by": again["id"]}));
    }

    async fn another_workflow_does_not_see_the_first_ones_keys(app) {
        let s = app.signup().await;
        let write = kv_workflow(&app, &s, "Write", json!({"operation": "set", "key": "last_sync", "value": "2026-12-01"})).await;
        let read = kv_workflow(&app, &s, "Read", json!({"operation": "get", "key": "last_sync"})).await;
        let delete = kv_workflow(&app, &s, "Delete", json!({"operation": "delete", "key": "last_sync"})).await;

        let written = app.execute_and_wait(&s, &write, json!({})).await;
        let elsewhere = app.execute_and_wait(&s, &read, json!({})).await;
        let deleted_elsewhere = app.execute_and_wait(&s, &delete, json!({})).await;
        let still_there = app.store().kv(s.organization_id, uuid(&write), KvOp::Get { key: "last_sync".into() }, Utc::now()).await.unwrap();

        assert_eq!(written["output_data"], json!({"key": "last_sync", "value": "2026-12-01", "stored": true}));
        assert_eq!(elsewhere["output_data"], json!({"key": "last_sync", "value": null, "found": false}));
        assert_eq!(deleted_elsewhere["output_data"], json!({"key": "last_sync", "deleted": false}));
        assert_eq!(still_there.value, json!("2026-12-01"));
    }

    async fn a_field_the_operation_does_not_use_is_refused_when_saved(app) {
        let s = app.signup().await;

        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Broken", "definition": {
            "nodes": [{"id": "start", "type": "trigger.manual"},
                      {"id": "kv", "type": "data.kv", "config": {"operation": "get", "key": "k", "ttl_seconds": 60}}],
            "edges": [{"from": "start", "to": "kv"}]
        }})).await;

        res.assert_error(422, "VALIDATION_ERROR");
        assert_eq!(res.body["error"]["details"][0]["path"], "nodes[1].config.ttl_seconds");
        assert_eq!(res.body["error"]["details"][0]["issue"], "is not used by operation get");
    }
}
