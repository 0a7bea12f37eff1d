//! [`MetricsStore`](crate::MetricsStore): the summary of an organization's executions over a
//! range, counted by the database.
//!
//! Four aggregate queries, each reading only the range's rows of the covering index
//! `executions_organization_created_idx` (organization, creation time, workflow, status) or,
//! for run times, those rows' two timestamps; none returns more rows than workflows × statuses,
//! buckets × statuses or workflows + 1, however many executions the range holds (a year of a
//! busy dealer's may be a million):
//!
//! - counts per workflow and status, with the workflow's name;
//! - counts per bucket and status, the bucket being the UTC hour or day of `created_at` as text
//!   (`2026-03-01T10`, `2026-03-01`). That text is the one thing the dialects compute
//!   differently ([`Dialect::CREATED_HOUR`](crate::sql::Dialect::CREATED_HOUR),
//!   [`Dialect::CREATED_DAY`](crate::sql::Dialect::CREATED_DAY)); Rust then puts the counts in
//!   a list of every bucket of the range, so that empty buckets are there too;
//! - the 50th and 95th nearest-rank percentiles of run times, per workflow and overall, with
//!   window functions (`row_number` over the sorted run times; the rank ⌈p·n/100⌉ in integer
//!   arithmetic, `(p·n + 99) / 100`), which both dialects have: PostgreSQL's
//!   `percentile_disc` has no SQLite counterpart. Run times are whole milliseconds
//!   ([`Dialect::RUN_MS`](crate::sql::Dialect::RUN_MS));
//! - the AI calls' cost and tokens, from `ai_usage` (on its `(organization_id, created_at)`
//!   index).
//!
//! Executions are counted by `created_at`, which every execution has and never changes; a
//! queued execution that has not started is in the summary of the hour it was queued.

use std::collections::HashMap;

use automatrix_core::ExecutionStatus;
use uuid::Uuid;

use crate::{
    AiTotals, ExecutionSummary, RunPercentiles, SeriesPoint, StatusCounts, StoreError, StoreResult,
    SummaryQuery, WorkflowSummary,
};

/// The executions of a summary: `$1` organization, `$2` since, `$3` until, `$4` workflow or
/// null for all.
const IN_RANGE: &str = "organization_id = $1 and created_at >= $2 and created_at < $3 \
     and ($4 is null or workflow_id = $4)";

/// Executions per workflow (with its name) and status; see [`IN_RANGE`].
#[doc(hidden)]
pub fn counts_sql() -> String {
    format!(
        "select c.workflow_id, w.name, c.status, c.n \
         from (select workflow_id, status, count(*) as n from executions \
               where {IN_RANGE} group by workflow_id, status) c \
         join workflows w on w.id = c.workflow_id"
    )
}

/// Executions per bucket (`bucket`: the dialect's text of the hour or day of `created_at`)
/// and status; see [`IN_RANGE`].
#[doc(hidden)]
pub fn series_sql(bucket: &str) -> String {
    format!(
        "select {bucket} as bucket, status, count(*) as n from executions \
         where {IN_RANGE} group by 1, 2"
    )
}

/// The nearest-rank p50 and p95 of run times (`run_ms`: the dialect's milliseconds from
/// `started_at` to `completed_at`) of the finished executions that started: one row per
/// workflow, then one with a null workflow for all of them (null percentiles when none).
#[doc(hidden)]
pub fn percentiles_sql(run_ms: &str) -> String {
    format!(
        "with runs as ( \
             select workflow_id, {run_ms} as ms from executions \
             where {IN_RANGE} and status in ('completed', 'failed', 'cancelled') \
               and started_at is not null and completed_at is not null), \
         ranked as ( \
             select workflow_id, ms, \
                 row_number() over (partition by workflow_id order by ms) as wr, \
                 count(*) over (partition by workflow_id) as wn, \
                 row_number() over (order by ms) as ar, \
                 count(*) over () as an \
             from runs) \
         select workflow_id, \
             max(case when wr = (50 * wn + 99) / 100 then ms end) as p50, \
             max(case when wr = (95 * wn + 99) / 100 then ms end) as p95 \
         from ranked group by workflow_id \
         union all \
         select null, \
             max(case when ar = (50 * an + 99) / 100 then ms end), \
             max(case when ar = (95 * an + 99) / 100 then ms end) \
         from ranked"
    )
}

/// The AI calls of a summary: count, cost, input and output tokens. A workflow filter leaves
/// out the calls made outside any workflow (the proxy's).
#[doc(hidden)]
pub fn ai_totals_sql() -> String {
    // `sum` of a bigint is a numeric on PostgreSQL: cast back.
    format!(
        "select count(*), sum(cost_usd), cast(sum(input_tokens) as bigint), \
             cast(sum(output_tokens) as bigint) \
         from ai_usage where {IN_RANGE}"
    )
}

/// A row of [`counts_sql`]: workflow, its name, status, executions.
#[doc(hidden)]
pub type CountLine = (Uuid, String, String, i64);
/// A row of [`series_sql`]: bucket key, status, executions.
#[doc(hidden)]
pub type SeriesLine = (String, String, i64);
/// A row of [`percentiles_sql`]: workflow (none: all), p50, p95.
#[doc(hidden)]
pub type PercentileLine = (Option<Uuid>, Option<i64>, Option<i64>);
/// The row of [`ai_totals_sql`]: calls, cost, input tokens, output tokens (null sums: none).
#[doc(hidden)]
pub type AiTotalsLine = (i64, Option<f64>, Option<i64>, Option<i64>);

fn status(s: &str) -> StoreResult<ExecutionStatus> {
    s.parse()
        .map_err(|e| StoreError::Other(format!("an execution row has {e}")))
}

/// Puts the rows of the four queries together: totals, rates, workflows sorted by executions
/// (most first, then by name and id), and a series with every bucket of the range.
#[doc(hidden)]
pub fn summarize(
    query: &SummaryQuery,
    counts: Vec<CountLine>,
    series: Vec<SeriesLine>,
    percentiles: Vec<PercentileLine>,
    ai: AiTotalsLine,
) -> StoreResult<ExecutionSummary> {
    let mut overall = RunPercentiles::default();
    let mut per_workflow = HashMap::new();
    for (workflow, p50, p95) in percentiles {
        let found = RunPercentiles { p50, p95 };
        match workflow {
            Some(id) => {
                per_workflow.insert(id, found);
            }
            None => overall = found,
        }
    }

    let mut by_status = StatusCounts::default();
    let mut workflows: HashMap<Uuid, WorkflowSummary> = HashMap::new();
    for (workflow_id, name, s, n) in counts {
        let entry = workflows
            .entry(workflow_id)
            .or_insert_with(|| WorkflowSummary {
                workflow_id,
                name,
                total: 0,
                by_status: StatusCounts::default(),
                success_rate: None,
                duration_ms: per_workflow.get(&workflow_id).copied().unwrap_or_default(),
            });
        entry.by_status.add(status(&s)?, n);
    }
    let mut workflows: Vec<WorkflowSummary> = workflows
        .into_values()
        .map(|mut w| {
            by_status.add_all(&w.by_status);
            w.total = w.by_status.total();
            w.success_rate = w.by_status.success_rate();
            w
        })
        .collect();
    workflows.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.workflow_id.cmp(&b.workflow_id))
    });

    let starts = query.bucket_starts();
    let index: HashMap<String, usize> = starts
        .iter()
        .enumerate()
        .map(|(i, at)| (query.bucket.key(*at), i))
        .collect();
    let mut points: Vec<SeriesPoint> = starts
        .into_iter()
        .map(|at| SeriesPoint {
            at,
            total: 0,
            by_status: StatusCounts::default(),
        })
        .collect();
    for (key, s, n) in series {
        let point = index
            .get(&key)
            .and_then(|&i| points.get_mut(i))
            .ok_or_else(|| StoreError::Other(format!("bucket {key} is outside the range")))?;
        point.by_status.add(status(&s)?, n);
        point.total += n;
    }

    let (calls, cost, input, output) = ai;
    Ok(ExecutionSummary {
        since: query.since,
        until: query.until,
        workflow_id: query.workflow_id,
        bucket: query.bucket,
        total: by_status.total(),
        by_status,
        success_rate: by_status.success_rate(),
        duration_ms: overall,
        workflows,
        series: points,
        ai: AiTotals {
            cost_usd: cost.unwrap_or(0.0),
            input_tokens: input.unwrap_or(0),
            output_tokens: output.unwrap_or(0),
            calls,
        },
    })
}

/// Implements [`MetricsStore`](crate::MetricsStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_metrics_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::sql::metrics::{
                AiTotalsLine, CountLine, PercentileLine, SeriesLine, ai_totals_sql, counts_sql,
                percentiles_sql, series_sql, summarize,
            };
            use $crate::{
                ExecutionSummary, MetricsStore, StoreResult, SummaryBucket, SummaryQuery,
            };

            static COUNTS: LazyLock<String> = LazyLock::new(counts_sql);
            static SERIES_BY_HOUR: LazyLock<String> =
                LazyLock::new(|| series_sql(<$store as Dialect>::CREATED_HOUR));
            static SERIES_BY_DAY: LazyLock<String> =
                LazyLock::new(|| series_sql(<$store as Dialect>::CREATED_DAY));
            static PERCENTILES: LazyLock<String> =
                LazyLock::new(|| percentiles_sql(<$store as Dialect>::RUN_MS));
            static AI_TOTALS: LazyLock<String> = LazyLock::new(ai_totals_sql);

            #[async_trait]
            impl MetricsStore for $store {
                async fn execution_summary(
                    &self,
                    org: Uuid,
                    query: &SummaryQuery,
                ) -> StoreResult<ExecutionSummary> {
                    let series = match query.bucket {
                        SummaryBucket::Hour => SERIES_BY_HOUR.as_str(),
                        SummaryBucket::Day => SERIES_BY_DAY.as_str(),
                    };
                    let (w, since, until) = (query.workflow_id, query.since, query.until);
                    // Four reads, not one snapshot: an execution finishing in between may be
                    // counted as running in one and finished in another, which a summary of a
                    // moving system shows either way a moment later.
                    // Every read takes the same four arguments.
                    macro_rules! in_range {
                        ($sql:expr, $line:ty) => {
                            sqlx::query_as::<_, $line>($sql)
                                .bind(org)
                                .bind(since)
                                .bind(until)
                                .bind(w)
                        };
                    }
                    let counts = in_range!(COUNTS.as_str(), CountLine)
                        .fetch_all(self.pool())
                        .await?;
                    let series = in_range!(series, SeriesLine).fetch_all(self.pool()).await?;
                    let percentiles = in_range!(PERCENTILES.as_str(), PercentileLine)
                        .fetch_all(self.pool())
                        .await?;
                    let ai = in_range!(AI_TOTALS.as_str(), AiTotalsLine)
                        .fetch_one(self.pool())
                        .await?;
                    summarize(query, counts, series, percentiles, ai)
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::*;
    use crate::SummaryBucket;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap()
    }

    fn query(since: DateTime<Utc>, until: DateTime<Utc>, bucket: SummaryBucket) -> SummaryQuery {
        SummaryQuery {
            since,
            until,
            workflow_id: None,
            bucket,
        }
    }

    #[test]
    fn buckets_cover_the_range_from_the_bucket_of_since() {
        let q = query(at(1, 10, 30), at(1, 12, 0), SummaryBucket::Hour);
        assert_eq!(q.bucket_starts(), [at(1, 10, 0), at(1, 11, 0)]);
        let q = query(at(1, 10, 30), at(1, 12, 1), SummaryBucket::Hour);
        assert_eq!(
            q.bucket_starts().len(),
            3,
            "until inside a bucket includes it"
        );
        let q = query(at(1, 23, 0), at(3, 0, 0), SummaryBucket::Day);
        assert_eq!(q.bucket_starts(), [at(1, 0, 0), at(2, 0, 0)]);
        assert_eq!(SummaryBucket::Hour.key(at(1, 9, 0)), "2026-03-01T09");
        assert_eq!(SummaryBucket::Day.key(at(1, 9, 0)), "2026-03-01");
    }

    #[test]
    fn the_summary_adds_up_rates_and_fills_empty_buckets() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let q = query(at(1, 10, 0), at(1, 13, 0), SummaryBucket::Hour);
        let counts = vec![
            (a, "Alpha".into(), "completed".into(), 3),
            (a, "Alpha".into(), "failed".into(), 1),
            (b, "Beta".into(), "pending".into(), 5),
        ];
        let series = vec![
            ("2026-03-01T10".into(), "completed".into(), 3),
            ("2026-03-01T12".into(), "failed".into(), 1),
            ("2026-03-01T12".into(), "pending".into(), 5),
        ];
        let percentiles = vec![
            (Some(a), Some(100), Some(900)),
            (None, Some(100), Some(900)),
        ];
        let s = summarize(
            &q,
            counts,
            series,
            percentiles,
            (2, Some(0.5), Some(10), Some(3)),
        )
        .unwrap();

        assert_eq!(s.total, 9);
        assert_eq!((s.by_status.completed, s.by_status.failed), (3, 1));
        assert_eq!(s.by_status.pending, 5);
        assert_eq!(s.success_rate, Some(0.75));
        assert_eq!(s.duration_ms.p95, Some(900));
        let order: Vec<_> = s
            .workflows
            .iter()
            .map(|w| (w.workflow_id, w.total))
            .collect();
        assert_eq!(order, [(b, 5), (a, 4)], "most executions first");
        assert_eq!(
            s.workflows[0].success_rate, None,
            "nothing of Beta finished"
        );
        assert_eq!(s.workflows[0].duration_ms, RunPercentiles::default());
        assert_eq!(s.workflows[1].duration_ms.p50, Some(100));
        let totals: Vec<_> = s.series.iter().map(|p| (p.at, p.total)).collect();
        assert_eq!(
            totals,
            [(at(1, 10, 0), 3), (at(1, 11, 0), 0), (at(1, 12, 0), 6)]
        );
        assert_eq!(s.ai.calls, 2);
        assert_eq!(s.ai.cost_usd, 0.5);
    }

    #[test]
    fn an_empty_range_has_zeros_and_no_rates() {
        let q = query(at(1, 0, 0), at(3, 0, 0), SummaryBucket::Day);
        let s = summarize(
            &q,
            vec![],
            vec![],
            vec![(None, None, None)],
            (0, None, None, None),
        )
        .unwrap();
        assert_eq!((s.total, s.success_rate), (0, None));
        assert_eq!(s.series.len(), 2);
        assert_eq!(s.ai, AiTotals::default());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json["series"][1]["cancelled"], 0,
            "statuses flat in a point"
        );
        assert_eq!(json["by_status"]["waiting"], 0);
        assert!(json["duration_ms"]["p50"].is_null());
    }
}
