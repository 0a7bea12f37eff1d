//! `/api/executions/*`: list with filters and keyset pagination, get, step logs, cancel.

use automatrix_core::{ExecutionStatus, StepStatus};
use automatrix_store::{Execution, ExecutionFilter, Step};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, OptionalJson};
use crate::request_id::RequestOrigin;
use crate::state::AppState;
use crate::workflows::{page_limit, parse_cursor};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_executions))
        .routes(routes!(get_execution))
        .routes(routes!(execution_logs))
        .routes(routes!(cancel_execution))
        .routes(routes!(retry_execution))
        .routes(routes!(approve_step))
        .routes(routes!(reject_step))
}

#[derive(Deserialize, Default, ToSchema)]
pub struct DecisionRequest {
    /// Approve: becomes the step's output. Reject: attached to the step's error.
    #[serde(default)]
    pub data: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionResponse {
    pub id: Uuid,
    pub workflow_id: Uuid,
    /// The workflow version this execution runs (pinned at start).
    pub workflow_version: i64,
    pub status: ExecutionStatus,
    pub input_data: Value,
    pub output_data: Option<Value>,
    pub error_message: Option<String>,
    pub dry_run: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The `X-Request-Id` of the request that started it (an execute call or a webhook), or
    /// that started the run that started it (a sub-workflow, an error workflow); null for
    /// scheduled runs.
    pub request_id: Option<String>,
}

impl From<Execution> for ExecutionResponse {
    fn from(e: Execution) -> Self {
        Self {
            id: e.id,
            workflow_id: e.workflow_id,
            workflow_version: e.workflow_version,
            status: e.status,
            input_data: e.input_data.0,
            output_data: e.output_data.map(|j| j.0),
            error_message: e.error_message,
            dry_run: e.dry_run,
            started_at: e.started_at,
            completed_at: e.completed_at,
            created_at: e.created_at,
            request_id: e.request_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExecutionList {
    pub items: Vec<ExecutionResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StepResponse {
    pub node_id: String,
    pub node_type: String,
    pub status: StepStatus,
    pub attempt: i64,
    pub input_data: Option<Value>,
    pub output_data: Option<Value>,
    /// The output port a completed step emitted on.
    pub output_port: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
}

impl From<Step> for StepResponse {
    fn from(s: Step) -> Self {
        Self {
            node_id: s.node_id,
            node_type: s.node_type,
            status: s.status,
            attempt: s.attempt,
            input_data: s.input_data.map(|j| j.0),
            output_data: s.output_data.map(|j| j.0),
            output_port: s.output_port,
            error_message: s.error_message,
            started_at: s.started_at,
            completed_at: s.completed_at,
            duration_ms: s.duration_ms,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StepList {
    pub items: Vec<StepResponse>,
    /// The steps are of a dry run: side-effect steps output previews, not results.
    pub dry_run: bool,
}

#[derive(Deserialize, IntoParams)]
pub struct ExecutionQuery {
    /// pending, running, waiting, completed, failed or cancelled.
    pub status: Option<String>,
    pub workflow_id: Option<String>,
    /// Created at or after (RFC 3339).
    pub since: Option<String>,
    /// Created before (RFC 3339).
    pub until: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `true`: only dry runs; `false`: only real runs; absent: both.
    pub dry_run: Option<bool>,
}

impl ExecutionQuery {
    pub(crate) fn filter(&self) -> Result<ExecutionFilter, ApiError> {
        Ok(ExecutionFilter {
            status: self
                .status
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| ApiError::BadRequest("status must be one of pending, running, waiting, completed, failed, cancelled".into()))?,
            workflow_id: self
                .workflow_id
                .as_deref()
                .map(Uuid::parse_str)
                .transpose()
                .map_err(|_| ApiError::BadRequest("workflow_id must be a UUID".into()))?,
            since: time_param("since", self.since.as_deref())?,
            until: time_param("until", self.until.as_deref())?,
            before: parse_cursor(self.cursor.as_deref())?,
            dry_run: self.dry_run,
            limit: page_limit(self.limit)?,
        })
    }
}

/// A query parameter holding an RFC 3339 timestamp, if given; 400 naming it otherwise.
pub(crate) fn time_param(name: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    v.map(|s| DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)))
        .transpose()
        .map_err(|_| ApiError::BadRequest(format!("{name} must be an RFC 3339 timestamp")))
}

pub(crate) async fn list_page(
    state: &AppState,
    org: Uuid,
    mut filter: ExecutionFilter,
) -> Result<ExecutionList, ApiError> {
    let limit = filter.limit as usize;
    filter.limit += 1;
    let mut rows = state.store().list_executions(org, &filter).await?;
    let mut next_cursor = None;
    if rows.len() > limit {
        rows.truncate(limit);
        next_cursor = rows.last().map(|e| e.id.to_string());
    }
    Ok(ExecutionList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// Executions of the caller's organization, newest first.
#[utoipa::path(get, path = "/api/executions", tag = "executions", params(ExecutionQuery),
    responses((status = 200, body = ExecutionList), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn list_executions(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<ExecutionQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    list_page(&state, auth.org_id, q.filter()?).await.map(Json)
}

/// One execution.
#[utoipa::path(get, path = "/api/executions/{id}", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 200, body = ExecutionResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_execution(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ExecutionResponse>, ApiError> {
    let e = state
        .store()
        .get_execution(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(e.into()))
}

/// What every step of an execution did, in the order the steps started.
#[utoipa::path(get, path = "/api/executions/{id}/logs", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 200, body = StepList), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn execution_logs(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<StepList>, ApiError> {
    let execution = state
        .store()
        .get_execution(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let steps = state.store().list_steps(auth.org_id, id).await?;
    Ok(Json(StepList {
        items: steps.into_iter().map(Into::into).collect(),
        dry_run: execution.dry_run,
    }))
}

/// Cancel a pending, running or waiting execution.
#[utoipa::path(post, path = "/api/executions/{id}/cancel", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 200, body = ExecutionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already finished")), security(("bearer" = [])))]
async fn cancel_execution(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ExecutionResponse>, ApiError> {
    let e = state.engine.cancel(auth.org_id, id).await?;
    Ok(Json(e.into()))
}

/// Re-run a failed execution from its failed steps; completed steps are reused.
#[utoipa::path(post, path = "/api/executions/{id}/retry", tag = "executions", params(("id" = Uuid, Path)),
    responses((status = 202, body = ExecutionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not failed")), security(("bearer" = [])))]
async fn retry_execution(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    RequestOrigin(origin): RequestOrigin,
) -> Result<(axum::http::StatusCode, Json<ExecutionResponse>), ApiError> {
    let trace = origin.trace_context.as_deref();
    let e = state.engine.retry(auth.org_id, id, trace).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(e.into())))
}

async fn decide(
    state: &AppState,
    auth: AuthUser,
    id: Uuid,
    node_id: &str,
    approved: bool,
    data: Value,
) -> Result<Json<ExecutionResponse>, ApiError> {
    let decision = automatrix_engine::Decision {
        approved,
        data,
        decided_by: Some(auth.user_id),
    };
    let e = state
        .engine
        .decide(auth.org_id, id, node_id, decision)
        .await?;
    Ok(Json(e.into()))
}

/// Approve a waiting `flow.approval` step; the execution resumes with `data` as its output.
#[utoipa::path(post, path = "/api/executions/{id}/steps/{node_id}/approve", tag = "executions",
    params(("id" = Uuid, Path), ("node_id" = String, Path)), request_body(content = DecisionRequest, description = "optional"),
    responses((status = 200, body = ExecutionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the step is not waiting for a decision")), security(("bearer" = [])))]
async fn approve_step(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, node_id)): ApiPath<(Uuid, String)>,
    OptionalJson(req): OptionalJson<DecisionRequest>,
) -> Result<Json<ExecutionResponse>, ApiError> {
    decide(&state, auth, id, &node_id, true, req.data).await
}

/// Reject a waiting `flow.approval` step; it fails (or routes to `error`) with `data` attached.
#[utoipa::path(post, path = "/api/executions/{id}/steps/{node_id}/reject", tag = "executions",
    params(("id" = Uuid, Path), ("node_id" = String, Path)), request_body(content = DecisionRequest, description = "optional"),
    responses((status = 200, body = ExecutionResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the step is not waiting for a decision")), security(("bearer" = [])))]
async fn reject_step(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, node_id)): ApiPath<(Uuid, String)>,
    OptionalJson(req): OptionalJson<DecisionRequest>,
) -> Result<Json<ExecutionResponse>, ApiError> {
    decide(&state, auth, id, &node_id, false, req.data).await
}
