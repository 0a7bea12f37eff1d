//! `automatrix backup` beside a running server: executions keep being queued and run while the
//! copy is taken; the copy passes SQLite's integrity check and holds the account and every
//! execution queued before the backup started.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::helpers::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_beside_a_busy_server_is_complete_and_sound() {
    let mut c = Cluster::sqlite();
    c.start_serve("api", 2, &[]).await;
    c.sign_up().await;
    let workflow = c
        .create_workflow(json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "tag", "type": "transform.set", "config": {"fields": {"seen": true}}}
            ],
            "edges": [{"from": "start", "to": "tag"}]
        }))
        .await;
    for n in 0..5 {
        c.execute(&workflow, json!({"n": n})).await;
    }
    let before = c.count("select count(*) from executions").await;

    let dest = c.dir().join("backup.db");
    let stop = AtomicBool::new(false);
    let writer = async {
        let mut queued = 0;
        while !stop.load(Ordering::Relaxed) {
            c.execute(&workflow, json!({"n": queued})).await;
            queued += 1;
        }
        queued
    };
    let backup = async {
        let out = c
            .run(&["backup", dest.to_str().expect("utf-8 path")], &[])
            .await;
        stop.store(true, Ordering::Relaxed);
        out
    };
    let (queued, out) = tokio::join!(writer, backup);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "backup: {stderr}");

    let copy = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&dest))
        .await
        .expect("open the backup");
    let scalar = async |sql: &'static str| -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&copy)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let check: String = sqlx::query_scalar("pragma integrity_check")
        .fetch_one(&copy)
        .await
        .expect("integrity check");
    assert_eq!(check, "ok");
    assert_eq!(scalar("select count(*) from users").await, 1);
    let copied = scalar("select count(*) from executions").await;
    assert!(
        (before..=before + queued).contains(&copied),
        "{copied} executions in the backup; {before} before it, {queued} queued beside it"
    );
}
