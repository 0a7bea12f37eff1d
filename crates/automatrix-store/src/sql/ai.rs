//! [`AiStore`](crate::AiStore): AI routes, the accounting of AI calls, budgets.
//!
//! The usage report groups in Rust, over the rows of its window, rather than in SQL: the day of
//! a timestamp has no expression common to both dialects (SQLite keeps RFC 3339 text,
//! PostgreSQL a `timestamptz`), and one grouping for every key makes both backends agree to the
//! last cent. A month of one organization's calls is small enough to read (one row is a few
//! dozen bytes, and the window is on the `(organization_id, created_at)` index).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{AI_USAGE_NO_WORKFLOW, AiUsageGroup, AiUsageItem, AiUsageReport};

/// One accounted call as the report reads it: when, model, workflow, cost, input and output
/// tokens.
#[doc(hidden)]
pub type AiUsageLine = (DateTime<Utc>, String, Option<Uuid>, f64, i64, i64);

/// Totals `lines` and groups them by `group_by`; items are ordered by key.
#[doc(hidden)]
pub fn group_ai_usage(
    lines: impl IntoIterator<Item = AiUsageLine>,
    group_by: AiUsageGroup,
) -> AiUsageReport {
    let mut report = AiUsageReport::default();
    let mut groups: BTreeMap<String, AiUsageItem> = BTreeMap::new();
    for (at, model, workflow, cost, input, output) in lines {
        let key = match group_by {
            AiUsageGroup::Day => at.format("%Y-%m-%d").to_string(),
            AiUsageGroup::Model => model,
            AiUsageGroup::Workflow => {
                workflow.map_or_else(|| AI_USAGE_NO_WORKFLOW.to_owned(), |w| w.to_string())
            }
        };
        let item = groups.entry(key).or_default();
        for totals in [&mut report.total_cost_usd, &mut item.cost_usd] {
            *totals += cost;
        }
        for (total, n) in [
            (&mut report.input_tokens, input),
            (&mut item.input_tokens, input),
            (&mut report.output_tokens, output),
            (&mut item.output_tokens, output),
            (&mut report.calls, 1),
            (&mut item.calls, 1),
        ] {
            *total += n;
        }
    }
    report.items = groups
        .into_iter()
        .map(|(key, item)| AiUsageItem { key, ..item })
        .collect();
    report
}

/// Implements [`AiStore`](crate::AiStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_ai_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::automatrix_core::ai::Route;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx::{self, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::{
                AiBudget, AiRouteRow, AiStore, AiUsageGroup, AiUsageReport, NewAiUsage,
                StoreError, StoreResult,
            };

            #[async_trait]
            impl AiStore for $store {
                async fn put_ai_route(
                    &self,
                    org: Uuid,
                    alias: &str,
                    route: &Route,
                    now: DateTime<Utc>,
                ) -> StoreResult<(AiRouteRow, bool)> {
                    // Insert-or-nothing, then replace: each statement is atomic, so of two
                    // concurrent creations exactly one reports `created`.
                    let created = sqlx::query_as::<_, AiRouteRow>(
                        "insert into ai_routes \
                             (organization_id, alias, definition, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4) \
                         on conflict (organization_id, alias) do nothing \
                         returning *",
                    )
                    .bind(org)
                    .bind(alias)
                    .bind(Json(route))
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?;
                    if let Some(row) = created {
                        return Ok((row, true));
                    }
                    let replaced = sqlx::query_as::<_, AiRouteRow>(
                        "update ai_routes set definition = $3, updated_at = $4 \
                         where organization_id = $1 and alias = $2 \
                         returning *",
                    )
                    .bind(org)
                    .bind(alias)
                    .bind(Json(route))
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?;
                    // Deleted between the two statements: the caller may try again.
                    replaced.map(|row| (row, false)).ok_or_else(|| {
                        StoreError::Stale("the route was deleted while being replaced".into())
                    })
                }

                async fn get_ai_route(
                    &self,
                    org: Uuid,
                    alias: &str,
                ) -> StoreResult<Option<AiRouteRow>> {
                    Ok(sqlx::query_as::<_, AiRouteRow>(
                        "select * from ai_routes where organization_id = $1 and alias = $2",
                    )
                    .bind(org)
                    .bind(alias)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn list_ai_routes(&self, org: Uuid) -> StoreResult<Vec<AiRouteRow>> {
                    Ok(sqlx::query_as::<_, AiRouteRow>(
                        "select * from ai_routes where organization_id = $1 order by alias",
                    )
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn delete_ai_route(&self, org: Uuid, alias: &str) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "delete from ai_routes where organization_id = $1 and alias = $2",
                    )
                    .bind(org)
                    .bind(alias)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn record_ai_usage(&self, usage: NewAiUsage) -> StoreResult<()> {
                    sqlx::query(
                        "insert into ai_usage (id, organization_id, workflow_id, execution_id, \
                             node_id, route, provider, model, input_tokens, output_tokens, \
                             latency_ms, cost_usd, status, created_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    )
                    .bind(usage.id)
                    .bind(usage.organization_id)
                    .bind(usage.workflow_id)
                    .bind(usage.execution_id)
                    .bind(&usage.node_id)
                    .bind(&usage.route)
                    .bind(&usage.provider)
                    .bind(&usage.model)
                    .bind(usage.input_tokens)
                    .bind(usage.output_tokens)
                    .bind(usage.latency_ms)
                    .bind(usage.cost_usd)
                    .bind(usage.status.as_str())
                    .bind(usage.created_at)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(())
                }

                async fn ai_usage_report(
                    &self,
                    org: Uuid,
                    since: DateTime<Utc>,
                    until: DateTime<Utc>,
                    group_by: AiUsageGroup,
                ) -> StoreResult<AiUsageReport> {
                    let lines = sqlx::query_as::<_, $crate::sql::ai::AiUsageLine>(
                        "select created_at, model, workflow_id, cost_usd, input_tokens, \
                             output_tokens \
                         from ai_usage \
                         where organization_id = $1 and created_at >= $2 and created_at < $3 \
                         order by created_at, id",
                    )
                    .bind(org)
                    .bind(since)
                    .bind(until)
                    .fetch_all(self.pool())
                    .await?;
                    Ok($crate::sql::group_ai_usage(lines, group_by))
                }

                async fn ai_cost_since(&self, org: Uuid, since: DateTime<Utc>) -> StoreResult<f64> {
                    let (cost,): (Option<f64>,) = sqlx::query_as(
                        "select sum(cost_usd) from ai_usage \
                         where organization_id = $1 and created_at >= $2",
                    )
                    .bind(org)
                    .bind(since)
                    .fetch_one(self.pool())
                    .await?;
                    Ok(cost.unwrap_or(0.0))
                }

                async fn put_ai_budget(
                    &self,
                    org: Uuid,
                    monthly_usd: f64,
                    alert_at: f64,
                    now: DateTime<Utc>,
                ) -> StoreResult<AiBudget> {
                    Ok(sqlx::query_as::<_, AiBudget>(
                        "insert into ai_budgets \
                             (organization_id, monthly_usd, alert_at, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4) \
                         on conflict (organization_id) do update \
                             set monthly_usd = excluded.monthly_usd, \
                                 alert_at = excluded.alert_at, \
                                 updated_at = excluded.updated_at \
                         returning *",
                    )
                    .bind(org)
                    .bind(monthly_usd)
                    .bind(alert_at)
                    .bind(now)
                    .fetch_one(&mut *self.writer().await?)
                    .await?)
                }

                async fn get_ai_budget(&self, org: Uuid) -> StoreResult<Option<AiBudget>> {
                    Ok(sqlx::query_as::<_, AiBudget>(
                        "select * from ai_budgets where organization_id = $1",
                    )
                    .bind(org)
                    .fetch_optional(self.pool())
                    .await?)
                }
            }
        };
    };
}
