//! The metrics summary of an organization's executions (the dashboard's numbers): the rules of
//! its range and bucket, which every caller of [`Engine::execution_summary`] gets alike (the
//! HTTP API, and anything that pushes summaries).
//!
//! - `until` defaults to now and `since` to 24 hours before `until`; `since` must be before
//!   `until`, and the range at most [`SUMMARY_MAX_RANGE`] (366 days);
//! - the bucket defaults to an hour for a range of up to [`HOURLY_UP_TO`] (48 hours) and to a
//!   day beyond; hour buckets are allowed over at most [`HOURLY_MAX_RANGE`] (31 days), so that
//!   a series has at most 745 points;
//! - a workflow filter must name a workflow of the organization (else `NotFound`).

use automatrix_core::Problem;
use automatrix_store::{ExecutionSummary, SummaryBucket, SummaryQuery};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{Engine, EngineError};

/// The longest range a summary covers.
pub const SUMMARY_MAX_RANGE: Duration = Duration::days(366);
/// The longest range with hour buckets.
pub const HOURLY_MAX_RANGE: Duration = Duration::days(31);
/// The longest range whose bucket is an hour by default.
pub const HOURLY_UP_TO: Duration = Duration::hours(48);
/// The range when only `until` (or nothing) is given.
pub const SUMMARY_DEFAULT_RANGE: Duration = Duration::hours(24);

/// What a caller asks a summary of; `None` takes the default.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryRequest {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub workflow_id: Option<Uuid>,
    pub bucket: Option<SummaryBucket>,
}

impl SummaryRequest {
    /// The query this request stands for at `now`, or every problem with it (by parameter).
    pub fn resolve(&self, now: DateTime<Utc>) -> Result<SummaryQuery, Vec<Problem>> {
        let until = self.until.unwrap_or(now);
        let since = self.since.unwrap_or(until - SUMMARY_DEFAULT_RANGE);
        let problem = |path: &str, issue: String| Problem {
            path: path.to_owned(),
            issue,
        };
        let range = until - since;
        if since >= until {
            return Err(vec![problem(
                "since",
                format!("must be before until ({until})"),
            )]);
        }
        if range > SUMMARY_MAX_RANGE {
            return Err(vec![problem(
                "since",
                format!(
                    "must be at most {} days before until",
                    SUMMARY_MAX_RANGE.num_days()
                ),
            )]);
        }
        let bucket = self.bucket.unwrap_or(if range <= HOURLY_UP_TO {
            SummaryBucket::Hour
        } else {
            SummaryBucket::Day
        });
        if bucket == SummaryBucket::Hour && range > HOURLY_MAX_RANGE {
            return Err(vec![problem(
                "bucket",
                format!(
                    "hour buckets cover at most {} days; use day",
                    HOURLY_MAX_RANGE.num_days()
                ),
            )]);
        }
        Ok(SummaryQuery {
            since,
            until,
            workflow_id: self.workflow_id,
            bucket,
        })
    }
}

impl Engine {
    /// The summary of `org`'s executions and AI calls that `request` asks for, at `now`.
    /// `InvalidSummary` for a bad range or bucket, `NotFound` for a workflow the organization
    /// does not have.
    pub async fn execution_summary(
        &self,
        org: Uuid,
        request: &SummaryRequest,
        now: DateTime<Utc>,
    ) -> Result<ExecutionSummary, EngineError> {
        let query = request.resolve(now).map_err(EngineError::InvalidSummary)?;
        if let Some(id) = query.workflow_id
            && self.store().get_workflow(org, id).await?.is_none()
        {
            return Err(EngineError::NotFound);
        }
        Ok(self.store().execution_summary(org, &query).await?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 30, 0).unwrap()
    }

    fn request(since: Option<Duration>, until: Option<Duration>) -> SummaryRequest {
        SummaryRequest {
            since: since.map(|d| now() - d),
            until: until.map(|d| now() - d),
            ..SummaryRequest::default()
        }
    }

    fn issue(r: Result<SummaryQuery, Vec<Problem>>) -> (String, String) {
        let p = r.expect_err("a problem").remove(0);
        (p.path, p.issue)
    }

    #[test]
    fn the_last_24_hours_by_hour_by_default() {
        let q = SummaryRequest::default().resolve(now()).unwrap();
        assert_eq!((q.since, q.until), (now() - Duration::hours(24), now()));
        assert_eq!(q.bucket, SummaryBucket::Hour);
        let q = request(None, Some(Duration::days(1)))
            .resolve(now())
            .unwrap();
        assert_eq!(
            q.until - q.since,
            Duration::hours(24),
            "24 hours before until"
        );
    }

    #[test]
    fn the_bucket_is_a_day_beyond_48_hours() {
        let hours = |h| {
            request(Some(Duration::hours(h)), None)
                .resolve(now())
                .unwrap()
        };
        assert_eq!(hours(48).bucket, SummaryBucket::Hour);
        assert_eq!(hours(49).bucket, SummaryBucket::Day);
        let mut r = request(Some(Duration::days(31)), None);
        r.bucket = Some(SummaryBucket::Hour);
        assert_eq!(r.resolve(now()).unwrap().bucket, SummaryBucket::Hour);
    }

    #[test]
    fn a_range_must_be_forward_and_at_most_366_days() {
        let (path, why) =
            issue(request(Some(Duration::zero()), Some(Duration::zero())).resolve(now()));
        assert_eq!(path, "since");
        assert!(why.starts_with("must be before until"), "{why}");
        assert_eq!(
            issue(request(Some(Duration::hours(1)), Some(Duration::hours(2))).resolve(now())).0,
            "since"
        );
        assert!(
            request(Some(Duration::days(366)), None)
                .resolve(now())
                .is_ok()
        );
        let (path, why) =
            issue(request(Some(Duration::days(366) + Duration::seconds(1)), None).resolve(now()));
        assert_eq!(
            (path.as_str(), why.as_str()),
            ("since", "must be at most 366 days before until")
        );
    }

    #[test]
    fn hour_buckets_cover_at_most_31_days() {
        let mut r = request(Some(Duration::days(32)), None);
        r.bucket = Some(SummaryBucket::Hour);
        assert_eq!(issue(r.resolve(now())).0, "bucket");
    }
}
