//! `/api/workflows/*`: CRUD (every definition change is a new immutable version), execute,
//! and a workflow's executions. Versions are in [`crate::workflow_versions`], export and import
//! in [`crate::workflow_io`].

use automatrix_engine::{NewWorkflowRequest, WorkflowChange};
use automatrix_store::{ExecutionFilter, Workflow};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::executions::{ExecutionList, ExecutionQuery, list_page};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::request_id::RequestOrigin;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workflows, create_workflow))
        .routes(routes!(get_workflow, update_workflow, delete_workflow))
        .routes(routes!(execute_workflow))
        .routes(routes!(list_workflow_executions))
        .routes(routes!(validate_workflow))
}

#[derive(Serialize, ToSchema)]
pub struct WorkflowResponse {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The definition as stored (DESIGN.md §3).
    pub definition: Value,
    pub version: i64,
    pub is_active: bool,
    /// `/hooks/{token}` when the trigger is a webhook, else null.
    pub webhook_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Workflow> for WorkflowResponse {
    fn from(w: Workflow) -> Self {
        Self {
            id: w.id,
            name: w.name,
            description: w.description,
            definition: w.definition.0,
            version: w.version,
            is_active: w.is_active,
            webhook_url: w.webhook_token.map(|t| format!("/hooks/{t}")),
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WorkflowList {
    pub items: Vec<WorkflowResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CreateWorkflow {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub definition: Value,
    #[serde(default = "yes")]
    pub is_active: bool,
}

fn yes() -> bool {
    true
}

/// Fields to change; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
pub struct UpdateWorkflow {
    pub name: Option<String>,
    pub description: Option<String>,
    pub definition: Option<Value>,
    pub is_active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct ValidateRequest {
    /// A definition as `POST /api/workflows` takes it.
    pub definition: Value,
}

#[derive(Serialize, ToSchema)]
pub struct ValidationReport {
    /// No problems: saving this definition would succeed.
    pub valid: bool,
    /// Every problem with its JSON path, as a 422 on save would list them.
    pub problems: Vec<automatrix_core::Problem>,
}

#[derive(Deserialize, Default, ToSchema)]
pub struct ExecuteRequest {
    /// The execution input (the trigger's output).
    #[serde(default)]
    pub input: Value,
    /// Run without outside effects: nodes that would send, post or write complete with a
    /// preview of it instead (`{"dry_run": true, "would_send": …}`); reads and AI nodes run.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ExecuteResponse {
    pub execution_id: Uuid,
    pub status: automatrix_core::ExecutionStatus,
    pub dry_run: bool,
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub(crate) fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=200) => Ok(n),
        Some(_) => Err(ApiError::BadRequest(
            "limit must be between 1 and 200".into(),
        )),
    }
}

pub(crate) fn parse_cursor(cursor: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| ApiError::BadRequest("cursor is not valid".into())))
        .transpose()
}

/// Workflows of the caller's organization, newest first.
#[utoipa::path(get, path = "/api/workflows", tag = "workflows", params(PageQuery),
    responses((status = 200, body = WorkflowList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_workflows(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<WorkflowList>, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = parse_cursor(q.cursor.as_deref())?;
    let mut rows = state
        .store()
        .list_workflows(auth.org_id, before, limit + 1)
        .await?;
    let next_cursor = (rows.len() > limit as usize).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|w| w.id.to_string())
    });
    Ok(Json(WorkflowList {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

/// Check a definition without saving it: every problem a save would be refused for (200 either
/// way; the workflow canvas calls it as the user edits).
#[utoipa::path(post, path = "/api/workflows/validate", tag = "workflows", request_body = ValidateRequest,
    responses((status = 200, body = ValidationReport), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn validate_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<ValidateRequest>,
) -> Result<Json<ValidationReport>, ApiError> {
    let problems = state
        .engine
        .check_definition(auth.org_id, &req.definition)
        .await?;
    Ok(Json(ValidationReport {
        valid: problems.is_empty(),
        problems,
    }))
}

/// Create a workflow; the definition is validated and stored as version 1.
#[utoipa::path(post, path = "/api/workflows", tag = "workflows", request_body = CreateWorkflow,
    responses((status = 201, body = WorkflowResponse), (status = 422, body = ErrorBody, description = "every problem with its JSON path")), security(("bearer" = [])))]
async fn create_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<CreateWorkflow>,
) -> Result<(StatusCode, Json<WorkflowResponse>), ApiError> {
    let name = check_name(&req.name)?;
    let new = NewWorkflowRequest {
        name,
        description: req.description,
        definition: req.definition,
        is_active: req.is_active,
    };
    let wf = state
        .engine
        .create_workflow(auth.org_id, Some(auth.user_id), new)
        .await?;
    Ok((StatusCode::CREATED, Json(wf.into())))
}

/// One workflow.
#[utoipa::path(get, path = "/api/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let wf = state
        .store()
        .get_workflow(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(wf.into()))
}

/// Change a workflow; a changed definition becomes a new version.
#[utoipa::path(put, path = "/api/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path)), request_body = UpdateWorkflow,
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateWorkflow>,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let name = req.name.as_deref().map(check_name).transpose()?;
    let change = WorkflowChange {
        name,
        description: req.description,
        definition: req.definition,
        is_active: req.is_active,
    };
    let wf = state
        .engine
        .update_workflow(auth.org_id, id, Some(auth.user_id), change)
        .await?;
    Ok(Json(wf.into()))
}

/// Delete a workflow with its versions and executions.
#[utoipa::path(delete, path = "/api/workflows/{id}", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state.engine.delete_workflow(auth.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Start an execution of the current version, or a dry run of it (`dry_run: true`). Returns
/// at once; a worker runs it.
#[utoipa::path(post, path = "/api/workflows/{id}/execute", tag = "workflows", params(("id" = Uuid, Path)), request_body(content = ExecuteRequest, description = "optional"),
    responses((status = 202, body = ExecuteResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn execute_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    RequestOrigin(origin): RequestOrigin,
    OptionalJson(req): OptionalJson<ExecuteRequest>,
) -> Result<(StatusCode, Json<ExecuteResponse>), ApiError> {
    let input = if req.input.is_null() {
        Value::Object(Default::default())
    } else {
        req.input
    };
    let execution = state
        .engine
        .execute(auth.org_id, id, input, req.dry_run, origin)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ExecuteResponse {
            execution_id: execution.id,
            status: execution.status,
            dry_run: execution.dry_run,
        }),
    ))
}

/// Executions of one workflow, newest first.
#[utoipa::path(get, path = "/api/workflows/{id}/executions", tag = "workflows", params(("id" = Uuid, Path), ExecutionQuery),
    responses((status = 200, body = ExecutionList), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_workflow_executions(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ExecutionQuery>,
) -> Result<Json<ExecutionList>, ApiError> {
    state
        .store()
        .get_workflow(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut filter: ExecutionFilter = q.filter()?;
    filter.workflow_id = Some(id);
    list_page(&state, auth.org_id, filter).await.map(Json)
}
