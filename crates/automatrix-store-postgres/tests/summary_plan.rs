//! The metrics summary's counts read the range from the covering index: with a year of
//! executions of two organizations, PostgreSQL plans the counts per workflow and per bucket
//! (`automatrix_store::sql::metrics`, the statements `execution_summary` runs) for a day of one
//! organization with `executions_organization_created_idx` and no sequential scan of
//! `executions`, so a day's summary costs that day's index entries however long the history.
//!
//! The planner is left to choose on its own, on freshly analyzed rows. Runs when
//! `AUTOMATRIX_TEST_POSTGRES_URL` is set.

use automatrix_store::sql::Dialect;
use automatrix_store::sql::metrics::{counts_sql, series_sql};
use automatrix_store::testing::{new_tenant, new_workflow, now};
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::{TempDatabase, plan_nodes};
use chrono::Duration;
use serde_json::Value;
use uuid::Uuid;

/// Executions per organization, one every ~26 minutes over a year.
const EXECUTIONS: i64 = 20_000;

#[tokio::test]
async fn a_days_counts_read_the_creation_index_not_the_table() {
    let Some(db) = TempDatabase::create().await else {
        return;
    };
    let store = PgStore::open(&db.url).await.expect("open");
    let t = now();
    let mut org = Uuid::nil();
    for _ in 0..2 {
        let user = new_tenant(&store).await;
        let workflow = new_workflow(&store, &user).await;
        org = user.organization_id;
        sqlx::query(
            "insert into executions (id, organization_id, workflow_id, workflow_version, \
                 status, input_data, started_at, completed_at, created_at, updated_at) \
             select gen_random_uuid(), $1, $2, 1, 'completed', '{}', c, c, c, c \
             from (select $3 - i * interval '1577 seconds' as c \
                   from generate_series(1, $4) i) s",
        )
        .bind(org)
        .bind(workflow.id)
        .bind(t)
        .bind(EXECUTIONS)
        .execute(store.pool())
        .await
        .expect("insert executions");
    }
    sqlx::query("analyze executions")
        .execute(store.pool())
        .await
        .expect("analyze");

    for sql in [counts_sql(), series_sql(<PgStore as Dialect>::CREATED_HOUR)] {
        let explain = format!("explain (format json) {sql}");
        let plan: Value = sqlx::query_scalar(sqlx::AssertSqlSafe(explain))
            .bind(org)
            .bind(t - Duration::days(1))
            .bind(t)
            .bind(None::<Uuid>)
            .fetch_one(store.pool())
            .await
            .expect("explain");
        let all = plan_nodes(&plan[0]["Plan"]);
        let on_executions: Vec<&&Value> = all
            .iter()
            .filter(|n| n["Relation Name"] == "executions")
            .collect();
        assert!(
            on_executions.iter().all(|n| n["Node Type"] != "Seq Scan"),
            "a day's summary scans every execution: {plan:#}"
        );
        assert!(
            // A bitmap index scan names its index but no relation.
            all.iter()
                .any(|n| n["Index Name"] == "executions_organization_created_idx"),
            "the creation index is unused: {plan:#}"
        );
    }

    store.close().await;
    db.drop_database().await;
}
