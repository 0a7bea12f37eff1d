//! Promises of [`MetricsStore`](crate::MetricsStore): a summary counts the organization's
//! executions created at or after `since` and before `until` (no other organization's), by
//! status, per workflow (most first) and per bucket (every bucket of the range, empty ones
//! too); run time percentiles are nearest-rank over the finished executions that started; the
//! range's AI calls are totalled, those of one workflow only when the summary is filtered.

use automatrix_core::ExecutionStatus::{
    self, Cancelled, Completed, Failed, Pending, Running, Waiting,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

use super::ai::call;
use super::fixtures::{clean_up, new_tenant, new_workflow, past_execution};
use crate::{ExecutionSummary, RunPercentiles, Store, SummaryBucket, SummaryQuery, Workflow};

/// 2026-03-01 at `h:m:s` UTC.
fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, m, s).unwrap()
}

fn ms(n: i64) -> Option<Duration> {
    Some(Duration::milliseconds(n))
}

/// Two workflows of one organization, one of another, and their executions on 2026-03-01:
///
/// | created | workflow | status, run time |
/// |---|---|---|
/// | 09:59:59 | A | completed 50 ms (before the range) |
/// | 10:00 | A | completed 100 ms |
/// | 10:05 | other organization | completed 10 ms |
/// | 10:15 | A | completed 200 ms |
/// | 10:30 | A | failed 300 ms |
/// | 10:45 | A | cancelled before it started |
/// | 11:00 | A | completed 400 ms |
/// | 11:05 | B | completed 1000 ms |
/// | 11:10, 11:20, 11:30 | B | pending, running, waiting |
/// | 13:59:59 | A | completed 500 ms |
/// | 14:00 | A | completed 60 ms (at the range's end: outside) |
///
/// AI calls: A 0.25 at 10:30, outside any workflow 0.5 at 11:00, A 1.0 at 14:00, the other
/// organization 100.0 at 10:30.
struct Scene {
    org: Uuid,
    other: Uuid,
    a: Workflow,
    b: Workflow,
    theirs: Workflow,
}

async fn scene(store: &dyn Store) -> Scene {
    let user = new_tenant(store).await;
    let them = new_tenant(store).await;
    let (a, b) = (
        new_workflow(store, &user).await,
        new_workflow(store, &user).await,
    );
    let theirs = new_workflow(store, &them).await;
    let runs: [(&Workflow, ExecutionStatus, DateTime<Utc>, Option<Duration>); 13] = [
        (&a, Completed, at(9, 59, 59), ms(50)),
        (&a, Completed, at(10, 0, 0), ms(100)),
        (&theirs, Completed, at(10, 5, 0), ms(10)),
        (&a, Completed, at(10, 15, 0), ms(200)),
        (&a, Failed, at(10, 30, 0), ms(300)),
        (&a, Cancelled, at(10, 45, 0), None),
        (&a, Completed, at(11, 0, 0), ms(400)),
        (&b, Completed, at(11, 5, 0), ms(1000)),
        (&b, Pending, at(11, 10, 0), None),
        (&b, Running, at(11, 20, 0), None),
        (&b, Waiting, at(11, 30, 0), None),
        (&a, Completed, at(13, 59, 59), ms(500)),
        (&a, Completed, at(14, 0, 0), ms(60)),
    ];
    for (workflow, status, created, run) in runs {
        past_execution(store, workflow, status, created, run).await;
    }
    let (org, other) = (user.organization_id, them.organization_id);
    for (who, workflow, cost, when) in [
        (org, Some(a.id), 0.25, at(10, 30, 0)),
        (org, None, 0.5, at(11, 0, 0)),
        (org, Some(a.id), 1.0, at(14, 0, 0)),
        (other, Some(theirs.id), 100.0, at(10, 30, 0)),
    ] {
        ok!(store.record_ai_usage(call(who, workflow, "gpt-4o-mini", cost, when)));
    }
    Scene {
        org,
        other,
        a,
        b,
        theirs,
    }
}

fn query(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    workflow_id: Option<Uuid>,
    bucket: SummaryBucket,
) -> SummaryQuery {
    SummaryQuery {
        since,
        until,
        workflow_id,
        bucket,
    }
}

/// `(total, pending, running, waiting, completed, failed, cancelled)` of each point.
fn series(summary: &ExecutionSummary) -> Vec<(DateTime<Utc>, [i64; 7])> {
    summary
        .series
        .iter()
        .map(|p| {
            let c = p.by_status;
            let counts = [
                p.total,
                c.pending,
                c.running,
                c.waiting,
                c.completed,
                c.failed,
                c.cancelled,
            ];
            (p.at, counts)
        })
        .collect()
}

fn percentiles(p50: i64, p95: i64) -> RunPercentiles {
    RunPercentiles {
        p50: Some(p50),
        p95: Some(p95),
    }
}

pub async fn an_execution_summary_counts_by_status_bucket_and_workflow(store: &dyn Store) {
    let s = scene(store).await;
    let q = query(at(10, 0, 0), at(14, 0, 0), None, SummaryBucket::Hour);
    let summary = ok!(store.execution_summary(s.org, &q));

    assert_eq!(summary.total, 10, "09:59:59 and 14:00 are outside");
    let c = summary.by_status;
    assert_eq!(
        [
            c.pending,
            c.running,
            c.waiting,
            c.completed,
            c.failed,
            c.cancelled
        ],
        [1, 1, 1, 5, 1, 1]
    );
    assert_eq!(summary.success_rate, Some(5.0 / 7.0), "of the 7 finished");
    // Run times 100, 200, 300, 400, 500, 1000: rank ⌈3⌉ = 3 and ⌈5.7⌉ = 6.
    assert_eq!(summary.duration_ms, percentiles(300, 1000));

    let workflows: Vec<(Uuid, i64)> = summary
        .workflows
        .iter()
        .map(|w| (w.workflow_id, w.total))
        .collect();
    assert_eq!(
        workflows,
        [(s.a.id, 6), (s.b.id, 4)],
        "most executions first"
    );
    let (wa, wb) = (&summary.workflows[0], &summary.workflows[1]);
    assert_eq!(wa.name, s.a.name);
    assert_eq!(
        (
            wa.by_status.completed,
            wa.by_status.failed,
            wa.by_status.cancelled
        ),
        (4, 1, 1)
    );
    assert_eq!(wa.success_rate, Some(4.0 / 6.0));
    // 100, 200, 300, 400, 500 (the cancelled one never ran): ranks ⌈2.5⌉ = 3, ⌈4.75⌉ = 5.
    assert_eq!(wa.duration_ms, percentiles(300, 500));
    assert_eq!(wb.success_rate, Some(1.0), "one finished, completed");
    assert_eq!(wb.duration_ms, percentiles(1000, 1000));

    assert_eq!(
        series(&summary),
        [
            (at(10, 0, 0), [4, 0, 0, 0, 2, 1, 1]),
            (at(11, 0, 0), [5, 1, 1, 1, 2, 0, 0]),
            (at(12, 0, 0), [0; 7]),
            (at(13, 0, 0), [1, 0, 0, 0, 1, 0, 0]),
        ],
        "every hour, the empty one too"
    );
    assert_eq!(
        (summary.ai.calls, summary.ai.cost_usd),
        (2, 0.75),
        "the range's calls, the proxy's included"
    );
    assert_eq!(
        (summary.ai.input_tokens, summary.ai.output_tokens),
        (200, 20)
    );

    // The other organization sees its own execution and call only.
    let theirs = ok!(store.execution_summary(s.other, &q));
    assert_eq!(theirs.total, 1);
    assert_eq!(theirs.workflows.len(), 1);
    assert_eq!(theirs.workflows[0].workflow_id, s.theirs.id);
    assert_eq!(theirs.duration_ms, percentiles(10, 10));
    assert_eq!((theirs.ai.calls, theirs.ai.cost_usd), (1, 100.0));

    clean_up(store, &[&s.a, &s.b, &s.theirs]).await;
}

pub async fn an_execution_summary_is_filtered_by_workflow_and_bucketed_by_day(store: &dyn Store) {
    let s = scene(store).await;
    let q = query(
        at(10, 0, 0),
        at(14, 0, 0),
        Some(s.b.id),
        SummaryBucket::Hour,
    );
    let only_b = ok!(store.execution_summary(s.org, &q));
    assert_eq!(only_b.total, 4);
    assert_eq!(only_b.workflow_id, Some(s.b.id));
    assert_eq!(only_b.workflows.len(), 1);
    assert_eq!(only_b.duration_ms, percentiles(1000, 1000));
    assert_eq!(only_b.series[1].total, 4);
    assert_eq!(only_b.ai.calls, 0, "B made no AI call");
    assert_eq!(only_b.ai.cost_usd, 0.0);

    let q = query(
        at(10, 0, 0),
        at(14, 0, 0),
        Some(s.a.id),
        SummaryBucket::Hour,
    );
    let only_a = ok!(store.execution_summary(s.org, &q));
    assert_eq!((only_a.ai.calls, only_a.ai.cost_usd), (1, 0.25));

    // Another organization's workflow names nothing here.
    let q = query(
        at(10, 0, 0),
        at(14, 0, 0),
        Some(s.theirs.id),
        SummaryBucket::Hour,
    );
    assert_eq!(ok!(store.execution_summary(s.org, &q)).total, 0);

    let since = at(0, 0, 0) - Duration::hours(12);
    let q = query(
        since,
        at(0, 0, 0) + Duration::days(2),
        None,
        SummaryBucket::Day,
    );
    let by_day = ok!(store.execution_summary(s.org, &q));
    assert_eq!(
        by_day
            .series
            .iter()
            .map(|p| (p.at, p.total))
            .collect::<Vec<_>>(),
        [
            (at(0, 0, 0) - Duration::days(1), 0),
            (at(0, 0, 0), 12),
            (at(0, 0, 0) + Duration::days(1), 0),
        ],
        "from the day `since` falls in; March 1st holds every execution"
    );
    // Run times 50, 60, 100, 200, 300, 400, 500, 1000: ranks 4 and ⌈7.6⌉ = 8.
    assert_eq!(by_day.duration_ms, percentiles(200, 1000));
    assert_eq!((by_day.ai.calls, by_day.ai.cost_usd), (3, 1.75));

    clean_up(store, &[&s.a, &s.b, &s.theirs]).await;
}
