//! Many processes on one PostgreSQL database: an API process without workers queues work,
//! `worker` processes race for it and are woken by `NOTIFY` (their polling is all but off), each
//! execution runs exactly once; a cancel through the API process stops a step running in a
//! worker process at once; a worker whose listening connection dies listens again.

use serde_json::{Value, json};

use crate::helpers::Cluster;

/// Polling every ten minutes: a worker that finds work quickly was woken by a notification.
const NO_POLLING: (&str, &str) = ("AUTOMATRIX_POLL_MS", "600000");

/// trigger → `stamp` (fails unless this is the execution's first claim) → `done`.
fn claimed_once_workflow() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "stamp", "type": "code.js", "config": {"code":
                "if ($execution.attempt !== 1) throw new Error('claimed ' + $execution.attempt + ' times');\
                 return {n: $json.n, attempt: $execution.attempt};"}},
            {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
        ],
        "edges": [{"from": "lead", "to": "stamp"}, {"from": "stamp", "to": "done"}]
    })
}

#[tokio::test]
async fn two_worker_processes_run_every_execution_exactly_once_woken_by_notify() {
    let Some(mut c) = Cluster::postgres().await else {
        return;
    };
    c.start_serve("api", 0, &[]).await;
    let w1 = c.start_worker("worker-1", 4, &[NO_POLLING]).await;
    let w2 = c.start_worker("worker-2", 4, &[NO_POLLING]).await;
    c.sign_up().await;
    let workflow = c.create_workflow(claimed_once_workflow()).await;

    const EXECUTIONS: i64 = 200;
    for n in 0..EXECUTIONS {
        c.execute(&workflow, json!({"n": n})).await;
    }
    c.eventually("every execution finished", async || {
        c.count("select count(*) from executions where completed_at is not null")
            .await
            == EXECUTIONS
    })
    .await;

    c.assert_all_completed_once(EXECUTIONS, 3).await;
    let rows = c.count("select count(*) from steps").await;
    assert_eq!(
        rows,
        EXECUTIONS * 3,
        "one attempt per node, nothing retried"
    );
    let claims = |log: String| log.matches("claimed a job").count() as i64;
    let (by_1, by_2) = (claims(c.log(w1)), claims(c.log(w2)));
    assert_eq!(by_1 + by_2, EXECUTIONS, "one claim per execution");
    assert!(
        by_1 > 0 && by_2 > 0,
        "both workers took work: {by_1} + {by_2}"
    );
}

#[tokio::test]
async fn a_cancel_through_the_api_process_stops_a_step_running_in_a_worker_process() {
    let Some(mut c) = Cluster::postgres().await else {
        return;
    };
    c.start_serve("api", 0, &[]).await;
    c.start_worker("worker", 2, &[]).await;
    c.sign_up().await;
    // A 25-second step: without the relayed cancel it would complete, and only then would
    // the worker see the cancellation at its checkpoint.
    let workflow = c
        .create_workflow(json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "spin", "type": "code.js", "config": {"timeout_ms": 30000, "code":
                    "const end = Date.now() + 25000; while (Date.now() < end) {} return $json;"}},
                {"id": "after", "type": "transform.set", "config": {"fields": {"after": true}}}
            ],
            "edges": [{"from": "lead", "to": "spin"}, {"from": "spin", "to": "after"}]
        }))
        .await;
    let id = c.execute(&workflow, json!({})).await;
    let step = async |node: &str| {
        c.steps(&id)
            .await
            .into_iter()
            .find(|s| s["node_id"] == node)
            .unwrap_or(Value::Null)
    };
    c.eventually("the step runs in the worker", async || {
        step("spin").await["status"] == "running"
    })
    .await;

    let (status, body) = c
        .call(
            reqwest::Method::POST,
            &format!("/api/executions/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(status, 200, "cancel: {body}");
    c.eventually("the step stops", async || {
        step("spin").await["status"] != "running"
    })
    .await;

    let spin = step("spin").await;
    assert_eq!(spin["status"], "cancelled", "stopped in flight: {spin}");
    assert!(
        spin["duration_ms"].as_i64().is_some_and(|ms| ms < 25_000),
        "{spin}"
    );
    assert_eq!(step("after").await, Value::Null, "nothing ran after it");
    assert_eq!(c.execution(&id).await["status"], "cancelled");
    c.eventually("the job is gone", async || {
        c.count("select count(*) from jobs").await == 0
    })
    .await;
}

#[tokio::test]
async fn a_worker_whose_listening_connection_dies_listens_again() {
    let Some(mut c) = Cluster::postgres().await else {
        return;
    };
    c.start_serve("api", 0, &[]).await;
    let worker = c.start_worker("worker", 1, &[NO_POLLING]).await;
    c.sign_up().await;
    let workflow = c.create_workflow(claimed_once_workflow()).await;

    let killed = c
        .count(
            "select count(*) from pg_stat_activity \
             where datname = current_database() and query ilike 'listen%' \
               and pg_terminate_backend(pid)",
        )
        .await;
    assert_eq!(killed, 1, "one listening connection, terminated");
    c.wait_for_log(worker, "queue events reconnected", 1).await;

    let id = c.execute(&workflow, json!({"n": 1})).await;
    c.eventually("the execution completes", async || {
        c.execution(&id).await["status"] == "completed"
    })
    .await;
}
