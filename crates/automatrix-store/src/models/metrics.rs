//! The metrics summary of an organization's executions (`GET /api/metrics/summary`): what it
//! covers ([`SummaryQuery`]) and what it reports ([`ExecutionSummary`]). The types are
//! serialized as they are, by the API and by whatever else pushes a summary.

use automatrix_core::ExecutionStatus;
use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// How long a bucket of a summary's series is. Buckets are UTC hours or UTC calendar days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SummaryBucket {
    Hour,
    Day,
}

impl SummaryBucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::Day => "day",
        }
    }

    /// The length of one bucket.
    pub fn length(self) -> Duration {
        match self {
            Self::Hour => Duration::hours(1),
            Self::Day => Duration::days(1),
        }
    }

    /// The start of the bucket `t` falls in.
    pub fn start_of(self, t: DateTime<Utc>) -> DateTime<Utc> {
        // Whole hours and days divide the Unix epoch evenly, and UTC has no offset changes:
        // rounding down to a multiple of the length is the bucket's start.
        t.duration_trunc(self.length()).unwrap_or(t)
    }

    /// The key the store groups a bucket under: `YYYY-MM-DDTHH` (hour) or `YYYY-MM-DD` (day),
    /// in UTC; what [`Dialect::CREATED_HOUR`](crate::sql::Dialect::CREATED_HOUR) and
    /// [`Dialect::CREATED_DAY`](crate::sql::Dialect::CREATED_DAY) compute in SQL.
    pub fn key(self, start: DateTime<Utc>) -> String {
        match self {
            Self::Hour => start.format("%Y-%m-%dT%H").to_string(),
            Self::Day => start.format("%Y-%m-%d").to_string(),
        }
    }
}

/// What a summary covers: an organization's executions created at or after `since` and before
/// `until`, of one workflow or all. The caller bounds the range (the engine allows at most 366
/// days, and hour buckets over at most 31): the series has one point per bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryQuery {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub workflow_id: Option<Uuid>,
    pub bucket: SummaryBucket,
}

impl SummaryQuery {
    /// The start of every bucket that overlaps `[since, until)`, in order: the first is the
    /// start of `since`'s bucket (which may begin before `since`), the last the bucket `until`
    /// falls in, unless `until` is the start of a bucket.
    pub fn bucket_starts(&self) -> Vec<DateTime<Utc>> {
        let step = self.bucket.length();
        let mut at = self.bucket.start_of(self.since);
        let mut starts = Vec::new();
        while at < self.until {
            starts.push(at);
            at += step;
        }
        starts
    }
}

/// Executions counted by status; every status is present, 0 when there are none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusCounts {
    pub pending: i64,
    pub running: i64,
    pub waiting: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    /// Adds `n` executions of `status`.
    pub fn add(&mut self, status: ExecutionStatus, n: i64) {
        *match status {
            ExecutionStatus::Pending => &mut self.pending,
            ExecutionStatus::Running => &mut self.running,
            ExecutionStatus::Waiting => &mut self.waiting,
            ExecutionStatus::Completed => &mut self.completed,
            ExecutionStatus::Failed => &mut self.failed,
            ExecutionStatus::Cancelled => &mut self.cancelled,
        } += n;
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &Self) {
        for status in ExecutionStatus::ALL {
            self.add(status, other.get(status));
        }
    }

    pub fn get(&self, status: ExecutionStatus) -> i64 {
        match status {
            ExecutionStatus::Pending => self.pending,
            ExecutionStatus::Running => self.running,
            ExecutionStatus::Waiting => self.waiting,
            ExecutionStatus::Completed => self.completed,
            ExecutionStatus::Failed => self.failed,
            ExecutionStatus::Cancelled => self.cancelled,
        }
    }

    /// Every execution counted.
    pub fn total(&self) -> i64 {
        ExecutionStatus::ALL.into_iter().map(|s| self.get(s)).sum()
    }

    /// Completed executions among the finished ones (completed, failed or cancelled), from 0
    /// to 1; `None` when none finished (no rate rather than a made-up 0 or 1).
    pub fn success_rate(&self) -> Option<f64> {
        let finished = self.completed + self.failed + self.cancelled;
        (finished > 0).then(|| self.completed as f64 / finished as f64)
    }
}

/// Nearest-rank percentiles of run times in milliseconds (from `started_at` to `completed_at`)
/// of finished executions that started: the p-th percentile of n sorted run times is the one
/// at rank ⌈p·n/100⌉ (1-based), so it is always one of them. `None` when there is none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunPercentiles {
    pub p50: Option<i64>,
    pub p95: Option<i64>,
}

/// One workflow's share of a summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkflowSummary {
    pub workflow_id: Uuid,
    pub name: String,
    pub total: i64,
    pub by_status: StatusCounts,
    pub success_rate: Option<f64>,
    pub duration_ms: RunPercentiles,
}

/// One bucket of a summary's series: the executions created in it, by status.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// The start of the bucket (UTC). The first and last buckets may reach outside the range;
    /// only executions inside it are counted.
    pub at: DateTime<Utc>,
    pub total: i64,
    #[serde(flatten)]
    pub by_status: StatusCounts,
}

/// What the AI calls of a summary's range cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AiTotals {
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
}

/// The summary of an organization's executions and AI calls over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExecutionSummary {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// The workflow the summary is restricted to, if any.
    pub workflow_id: Option<Uuid>,
    pub bucket: SummaryBucket,
    pub total: i64,
    pub by_status: StatusCounts,
    pub success_rate: Option<f64>,
    pub duration_ms: RunPercentiles,
    /// The workflows with executions in the range, most executions first (then by name).
    pub workflows: Vec<WorkflowSummary>,
    /// One point per bucket overlapping the range, oldest first, empty ones included.
    pub series: Vec<SeriesPoint>,
    pub ai: AiTotals,
}
