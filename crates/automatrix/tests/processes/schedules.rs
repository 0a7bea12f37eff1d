//! Several schedulers on one PostgreSQL database: a `serve` and two `worker` processes each run
//! a scheduler; a schedule that fires every second starts exactly one execution per tick, also
//! while one of the processes is killed and another takes its place.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::Cluster;

/// The scheduler says which ticks it took; a short lease lets a killed worker's run resume.
const ENV: [(&str, &str); 2] = [
    (
        "RUST_LOG",
        "info,sqlx=warn,automatrix_engine::scheduler=debug",
    ),
    ("AUTOMATRIX_LEASE_SECS", "3"),
];

fn every_second() -> Value {
    json!({
        "nodes": [
            {"id": "tick", "type": "trigger.schedule", "config": {"cron": "* * * * * *"}},
            {"id": "stamp", "type": "transform.set", "config": {"fields": {"for": "{{ $trigger.scheduled_for }}"}}}
        ],
        "edges": [{"from": "tick", "to": "stamp"}]
    })
}

#[tokio::test]
async fn three_schedulers_fire_each_tick_once_across_a_kill() {
    let Some(mut c) = Cluster::postgres().await else {
        return;
    };
    let api = c.start_serve("api", 1, &ENV).await;
    let w1 = c.start_worker("worker-1", 2, &ENV).await;
    let w2 = c.start_worker("worker-2", 2, &ENV).await;
    c.sign_up().await;
    let workflow = c.create_workflow(every_second()).await;

    let fired = "select count(*) from executions";
    c.eventually("4 ticks fired", async || c.count(fired).await >= 4)
        .await;
    c.sigkill(w1);
    let w3 = c.start_worker("worker-3", 2, &ENV).await;
    c.eventually("4 more ticks fired", async || c.count(fired).await >= 8)
        .await;
    let (status, body) = c
        .call(
            Method::PUT,
            &format!("/api/workflows/{workflow}"),
            Some(json!({"is_active": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    c.eventually("every execution finished", async || {
        c.count("select count(*) from executions where completed_at is null")
            .await
            == 0
    })
    .await;

    let total = c.count(fired).await;
    c.assert_all_completed_once(total, 2).await;
    let ticks: Vec<DateTime<Utc>> = c
        .texts("select input_data->>'scheduled_for' from executions order by 1")
        .await
        .iter()
        .map(|t| t.parse().expect("an ISO-8601 time"))
        .collect();
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            TimeDelta::seconds(1),
            "every second once, none twice or skipped: {ticks:?}"
        );
    }
    let took = |log: String| log.matches("schedule: fired a tick").count() as i64;
    let by: Vec<i64> = [api, w1, w2, w3].map(|p| took(c.log(p))).into();
    assert_eq!(
        by.iter().sum::<i64>(),
        total,
        "one scheduler per tick: {by:?}"
    );
    eprintln!("ticks fired by api, worker-1 (killed), worker-2, worker-3: {by:?}");
}
