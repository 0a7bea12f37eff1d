//! `/api/metrics/summary`: the dashboard's numbers for the caller's organization, its
//! executions by status, workflow and hour or day, run time percentiles and AI cost over a
//! range. The rules of the range live in the engine ([`automatrix_engine::SummaryRequest`]).

use automatrix_engine::SummaryRequest;
use automatrix_store::{ExecutionSummary, SummaryBucket};
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::executions::time_param;
use crate::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(summary))
}

#[derive(Deserialize, IntoParams)]
pub struct SummaryParams {
    /// Executions created at or after (RFC 3339); default: 24 hours before `until`.
    pub since: Option<String>,
    /// Executions created before (RFC 3339); default: now. At most 366 days after `since`.
    pub until: Option<String>,
    /// Only this workflow's executions and AI calls.
    pub workflow_id: Option<Uuid>,
    /// `hour` or `day` (UTC); default: `hour` for a range of up to 48 hours, else `day`.
    /// Hour buckets cover at most 31 days.
    pub bucket: Option<SummaryBucket>,
}

/// The organization's executions created in a range: counts by status, success rate and
/// nearest-rank p50/p95 run times, overall and per workflow; a series with every hour or day of
/// the range; and what the range's AI calls cost.
#[utoipa::path(get, path = "/api/metrics/summary", tag = "metrics", params(SummaryParams),
    responses(
        (status = 200, body = ExecutionSummary),
        (status = 400, body = ErrorBody, description = "since or until is not an RFC 3339 timestamp; a bad workflow_id or bucket"),
        (status = 404, body = ErrorBody, description = "workflow_id names no workflow of the organization"),
        (status = 422, body = ErrorBody, description = "since is not before until, the range is over 366 days, or hour buckets over more than 31 days"),
    ),
    security(("bearer" = [])))]
async fn summary(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<SummaryParams>,
) -> Result<Json<ExecutionSummary>, ApiError> {
    let request = SummaryRequest {
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
        workflow_id: q.workflow_id,
        bucket: q.bucket,
    };
    Ok(Json(
        state
            .engine
            .execution_summary(auth.org_id, &request, Utc::now())
            .await?,
    ))
}
