//! The claim walks the queue's indexes: with a long backlog of due jobs and some leased ones,
//! PostgreSQL plans the claim (`automatrix_store::sql::claim_job_sql`, the statement workers
//! run) with index scans on `jobs_lease_idx` and `jobs_due_idx` and neither scans nor sorts
//! the `jobs` table, so a claim costs the same with a hundred or a hundred thousand queued jobs.
//!
//! The planner is left to choose on its own (no `enable_seqscan = off`): the table holds enough
//! rows, freshly analyzed, that a sequential scan would be chosen if the statement allowed a
//! better one only through a sort. Runs when `AUTOMATRIX_TEST_POSTGRES_URL` is set.

use automatrix_store::sql::{Dialect, claim_job_sql};
use automatrix_store::testing::{new_tenant, new_workflow, now};
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::{TempDatabase, plan_nodes};
use serde_json::Value;
use uuid::Uuid;

/// Due jobs in the backlog; a few hundred are leased.
const JOBS: i64 = 20_000;

#[tokio::test]
async fn the_claim_uses_the_job_indexes_and_never_sorts_the_backlog() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let store = PgStore::open(&db.url).await.expect("open");
    let user = new_tenant(&store).await;
    let workflow = new_workflow(&store, &user).await;
    let t = now();
    // The backlog, in two statements: executions, then one job each (due over the last hours).
    sqlx::query(
        "insert into executions (id, organization_id, workflow_id, workflow_version, status, \
             input_data, created_at, updated_at) \
         select gen_random_uuid(), $1, $2, 1, 'pending', '{}', $3, $3 \
         from generate_series(1, $4)",
    )
    .bind(user.organization_id)
    .bind(workflow.id)
    .bind(t)
    .bind(JOBS)
    .execute(store.pool())
    .await
    .expect("insert executions");
    sqlx::query(
        "insert into jobs (id, execution_id, organization_id, run_at, locked_by, locked_until, \
             lease_token, created_at, updated_at) \
         select gen_random_uuid(), id, organization_id, \
             $1 - (row_number() over (order by id)) * interval '1 second', \
             case when random() < 0.02 then 'worker-x' end, null, null, $1, $1 \
         from executions",
    )
    .bind(t)
    .execute(store.pool())
    .await
    .expect("insert jobs");
    sqlx::query(
        "update jobs set locked_until = $1 + interval '30 seconds', lease_token = id \
         where locked_by is not null",
    )
    .bind(t)
    .execute(store.pool())
    .await
    .expect("lease some");
    sqlx::query("analyze jobs")
        .execute(store.pool())
        .await
        .expect("analyze");

    let claim = claim_job_sql(<PgStore as Dialect>::LOCK_FOR_CLAIM);
    let explain = format!("explain (format json) {claim}");
    let plan: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
        .bind("worker-a")
        .bind(t)
        .bind(t + chrono::Duration::seconds(30))
        .bind(Uuid::now_v7())
        .fetch_one(store.pool())
        .await
        .expect("explain the claim");
    let root = &plan[0]["Plan"];
    let all = plan_nodes(root);
    let on_jobs = || all.iter().filter(|n| n["Relation Name"] == "jobs");
    let scans: Vec<&str> = on_jobs().filter_map(|n| n["Node Type"].as_str()).collect();
    let indexes: Vec<&str> = on_jobs().filter_map(|n| n["Index Name"].as_str()).collect();
    assert!(
        !scans.contains(&"Seq Scan"),
        "the claim scans the whole jobs table: {plan:#}"
    );
    assert!(
        !all.iter().any(|n| n["Node Type"] == "Sort"),
        "the claim sorts the backlog: {plan:#}"
    );
    for index in ["jobs_lease_idx", "jobs_due_idx"] {
        assert!(indexes.contains(&index), "{index} unused: {plan:#}");
    }

    store.close().await;
    db.drop_database().await;
}
