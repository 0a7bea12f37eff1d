//! Pruning gives the space back: the database is created with incremental auto-vacuum, and
//! `reclaim_space` returns the pages of pruned executions to the file system.

use automatrix_core::ExecutionStatus;
use automatrix_store::testing::{new_execution, new_tenant, new_workflow, now};
use automatrix_store::{ExecutionOutcome, QueueStore, Store};
use automatrix_store_sqlite::SqliteStore;
use chrono::Duration;

async fn pragma(store: &SqliteStore, name: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("pragma {name}")))
        .fetch_one(automatrix_store::sql::Dialect::pool(store))
        .await
        .expect(name)
}

#[tokio::test]
async fn pruned_executions_give_their_space_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.path().join("a.db").display()))
        .await
        .unwrap();
    assert_eq!(
        pragma(&store, "auto_vacuum").await,
        2,
        "incremental auto-vacuum"
    );
    let user = new_tenant(&store).await;
    let workflow = new_workflow(&store, &user).await;
    let old = now() - Duration::days(400);
    for _ in 0..60 {
        new_execution(&store, &workflow, old).await;
        let job = store
            .claim_job("w", old, old + Duration::seconds(30))
            .await
            .unwrap()
            .unwrap();
        store.start_execution(&job, old).await.unwrap();
        let outcome = ExecutionOutcome {
            steps: Vec::new(),
            status: ExecutionStatus::Completed,
            output: Some(serde_json::json!("y".repeat(20_000))),
            error: None,
            now: old,
            follow_up: None,
        };
        store.finish_execution(&job, outcome).await.unwrap();
    }
    let full = pragma(&store, "page_count").await;
    let mut pruned = 0;
    loop {
        let n = store
            .prune_executions(now() - Duration::days(30), 25)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        pruned += n;
    }
    assert_eq!(pruned, 60);
    assert!(
        pragma(&store, "freelist_count").await > 0,
        "deleted rows leave free pages"
    );
    store.reclaim_space().await.unwrap();
    assert_eq!(pragma(&store, "freelist_count").await, 0);
    let after = pragma(&store, "page_count").await;
    assert!(
        after * 2 < full,
        "the file shrank: {full} pages before, {after} after"
    );
}
