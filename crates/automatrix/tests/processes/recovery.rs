//! Crash recovery and restarts of one `serve` process (DESIGN.md §4): a `SIGKILL` in the
//! middle of a load loses no execution, leaves none stuck and re-runs no completed step; a
//! delayed execution survives a graceful restart; `SIGTERM` during a long step exits 0 within
//! the drain bound, gives the job back, and the next start completes the execution.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{BOUND, Cluster};

/// A short lease, so a restarted process resumes a killed one's executions quickly.
const SHORT_LEASE: (&str, &str) = ("AUTOMATRIX_LEASE_SECS", "2");

/// trigger → two code steps busy for 100 ms each (so a kill lands mid-step, and a poll sees a
/// step running however loaded the machine is: its `running` row is written after 25 ms) → a set.
fn busy_workflow() -> Value {
    let busy =
        "const end = Date.now() + 100; while (Date.now() < end) {} return {...$json, ok: true};";
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "score", "type": "code.js", "config": {"code": busy}},
            {"id": "enrich", "type": "code.js", "config": {"code": busy}},
            {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
        ],
        "edges": [
            {"from": "lead", "to": "score"},
            {"from": "score", "to": "enrich"},
            {"from": "enrich", "to": "done"}
        ]
    })
}

async fn killed_mid_load_loses_nothing_and_reruns_no_completed_step(mut c: Cluster) {
    let first = c.start_serve("serve-1", 4, &[SHORT_LEASE]).await;
    c.sign_up().await;
    let workflow = c.create_workflow(busy_workflow()).await;
    const EXECUTIONS: i64 = 100;
    for n in 0..EXECUTIONS {
        c.execute(&workflow, json!({"n": n})).await;
    }
    c.eventually(
        "some executions completed and steps are in flight",
        async || {
            c.count("select count(*) from executions where status = 'completed'")
                .await
                >= 10
                && c.count("select count(*) from steps where status = 'running'")
                    .await
                    > 0
        },
    )
    .await;

    c.sigkill(first);
    c.wait_exit(first, BOUND).await;
    let unfinished = c
        .count("select count(*) from executions where status <> 'completed'")
        .await;
    let in_flight = c
        .count("select count(*) from steps where status = 'running'")
        .await;
    println!("killed with {unfinished} executions unfinished, {in_flight} steps in flight");
    assert!(unfinished > 0, "the kill came after the load was done");

    c.start_serve("serve-2", 4, &[SHORT_LEASE]).await;
    c.eventually("every execution finished after the restart", async || {
        c.count("select count(*) from executions where completed_at is not null")
            .await
            == EXECUTIONS
    })
    .await;
    c.assert_all_completed_once(EXECUTIONS, 4).await;
}

#[tokio::test]
async fn a_sigkill_mid_load_loses_nothing_on_sqlite() {
    killed_mid_load_loses_nothing_and_reruns_no_completed_step(Cluster::sqlite()).await;
}

#[tokio::test]
async fn a_sigkill_mid_load_loses_nothing_on_postgres() {
    if let Some(c) = Cluster::postgres().await {
        killed_mid_load_loses_nothing_and_reruns_no_completed_step(c).await;
    }
}

#[tokio::test]
async fn a_delayed_execution_survives_a_restart() {
    let mut c = Cluster::sqlite();
    let first = c.start_serve("serve-1", 2, &[]).await;
    c.sign_up().await;
    let workflow = c
        .create_workflow(json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "wait", "type": "flow.delay", "config": {"duration_ms": 1500}},
                {"id": "follow_up", "type": "transform.set", "config": {"fields": {"followed_up": true}}}
            ],
            "edges": [{"from": "lead", "to": "wait"}, {"from": "wait", "to": "follow_up"}]
        }))
        .await;
    let id = c
        .execute(&workflow, json!({"email": "lead@example.test"}))
        .await;
    c.eventually("the execution waits", async || {
        c.execution(&id).await["status"] == "waiting"
    })
    .await;

    c.sigterm(first);
    let exit = c.wait_exit(first, BOUND).await;
    assert!(exit.success(), "graceful exit: {exit:?}");

    c.start_serve("serve-2", 2, &[]).await;
    c.eventually("the execution completes", async || {
        c.execution(&id).await["status"] == "completed"
    })
    .await;
    let execution = c.execution(&id).await;
    assert_eq!(
        execution["output_data"],
        json!({"email": "lead@example.test", "followed_up": true})
    );
    let steps = c.steps(&id).await;
    let wait: Vec<&Value> = steps.iter().filter(|s| s["node_id"] == "wait").collect();
    assert_eq!(wait.len(), 1, "one attempt of the delay: {steps:?}");
    assert_eq!(wait[0]["status"], "completed");
}

#[tokio::test]
async fn a_webhook_run_in_the_receiving_process_survives_its_sigkill() {
    let mut c = Cluster::sqlite();
    let first = c.start_serve("serve-1", 2, &[SHORT_LEASE]).await;
    c.sign_up().await;
    let slow =
        "const end = Date.now() + 400; while (Date.now() < end) {} return {...$json, ok: true};";
    let workflow = c
        .create_workflow(json!({
            "nodes": [
                {"id": "lead", "type": "trigger.webhook", "config": {"respond": "on_completion"}},
                {"id": "score", "type": "code.js", "config": {"code": slow}},
                {"id": "enrich", "type": "code.js", "config": {"code": slow}},
                {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
            ],
            "edges": [{"from": "lead", "to": "score"}, {"from": "score", "to": "enrich"}, {"from": "enrich", "to": "done"}]
        }))
        .await;
    let (_, wf) = c
        .call(
            reqwest::Method::GET,
            &format!("/api/workflows/{workflow}"),
            None,
        )
        .await;
    let hook = c.url(wf["webhook_url"].as_str().expect("a webhook URL"));
    // The caller waits while the receiving process runs the workflow, and loses it.
    let call = tokio::spawn(
        reqwest::Client::new()
            .post(hook)
            .json(&json!({"email": "ann@buyer.example"}))
            .send(),
    );
    c.eventually("the first slow step completed", async || {
        c.count("select count(*) from steps where node_id = 'score' and status = 'completed'")
            .await
            == 1
    })
    .await;
    assert_eq!(
        c.count("select count(*) from jobs where locked_by is not null")
            .await,
        1,
        "the run holds its job's lease, as a worker's would"
    );
    c.sigkill(first);
    c.wait_exit(first, BOUND).await;
    assert!(
        call.await.expect("the call task").is_err(),
        "the caller lost its answer"
    );

    c.start_serve("serve-2", 2, &[SHORT_LEASE]).await;
    c.eventually("the execution completes after the restart", async || {
        c.count("select count(*) from executions where status = 'completed'")
            .await
            == 1
    })
    .await;
    c.assert_all_completed_once(1, 4).await;
}

#[tokio::test]
async fn sigterm_during_a_long_step_gives_the_job_back_and_a_restart_completes_it() {
    let mut c = Cluster::sqlite();
    let first = c
        .start_serve("serve-1", 1, &[("AUTOMATRIX_DRAIN_SECS", "1")])
        .await;
    c.sign_up().await;
    let workflow = c
        .create_workflow(json!({
            "nodes": [
                {"id": "lead", "type": "trigger.manual"},
                {"id": "spin", "type": "code.js", "config": {"timeout_ms": 20000, "code":
                    "const end = Date.now() + 3000; while (Date.now() < end) {} return {...$json, spun: true};"}},
                {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
            ],
            "edges": [{"from": "lead", "to": "spin"}, {"from": "spin", "to": "done"}]
        }))
        .await;
    let id = c.execute(&workflow, json!({"n": 7})).await;
    c.eventually("the long step runs", async || {
        c.steps(&id)
            .await
            .iter()
            .any(|s| s["node_id"] == "spin" && s["status"] == "running")
    })
    .await;

    c.sigterm(first);
    // The drain waits 1 s, then the step is stopped and the job given back (≤ 5 s more).
    let exit = c.wait_exit(first, Duration::from_secs(15)).await;
    assert!(exit.success(), "graceful exit: {exit:?}");
    let released = c
        .count("select count(*) from jobs where locked_until is null and lease_token is null")
        .await;
    assert_eq!(released, 1, "the job was given back, not left leased");

    c.start_serve("serve-2", 1, &[]).await;
    c.eventually("the execution completes", async || {
        c.execution(&id).await["status"] == "completed"
    })
    .await;
    assert_eq!(
        c.execution(&id).await["output_data"],
        json!({"n": 7, "spun": true, "done": true})
    );
    let spin: Vec<(Value, Value)> = c
        .steps(&id)
        .await
        .into_iter()
        .filter(|s| s["node_id"] == "spin")
        .map(|s| (s["attempt"].clone(), s["status"].clone()))
        .collect();
    assert_eq!(
        spin,
        [
            (json!(1), json!("cancelled")),
            (json!(2), json!("completed"))
        ],
        "stopped at shutdown, run again after the restart"
    );
}
