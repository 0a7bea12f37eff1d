//! `/api/workflows/{id}/versions/*`: a workflow's immutable versions with their authors and
//! change summaries, the diff between two of them, and restoring one (as a new version).

use automatrix_core::diff::DefinitionDiff;
use automatrix_engine::{Author, VersionDiff, VersionInfo};
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
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::workflows::WorkflowResponse;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_versions))
        .routes(routes!(get_version))
        .routes(routes!(diff_version))
        .routes(routes!(restore_version))
}

#[derive(Serialize, ToSchema)]
pub struct VersionResponse {
    pub workflow_id: Uuid,
    pub version: i64,
    pub definition: Value,
    pub created_by: Option<Uuid>,
    /// The user who made this version; null when unknown or since deleted.
    pub author: Option<AuthorResponse>,
    /// "created", "restored from version 3", or what changed since the previous version
    /// ("2 nodes added, 1 changed; 1 edge removed").
    pub summary: String,
    /// The version this one restored; null unless it was made by a restore.
    pub restored_from: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorResponse {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

impl From<Author> for AuthorResponse {
    fn from(a: Author) -> Self {
        Self {
            id: a.id,
            name: a.name,
            email: a.email,
        }
    }
}

impl From<VersionInfo> for VersionResponse {
    fn from(info: VersionInfo) -> Self {
        let v = info.version;
        Self {
            workflow_id: v.workflow_id,
            version: v.version,
            definition: v.definition.0,
            created_by: v.created_by,
            author: info.author.map(Into::into),
            summary: info.summary,
            restored_from: v.restored_from,
            created_at: v.created_at,
        }
    }
}

/// What changed from version `against` to `version`.
#[derive(Serialize, ToSchema)]
pub struct VersionDiffResponse {
    pub workflow_id: Uuid,
    pub version: i64,
    /// Null when `version` is 1 and no `against` was given: everything is added.
    pub against: Option<i64>,
    pub summary: String,
    #[serde(flatten)]
    pub changes: DefinitionDiff,
}

#[derive(Deserialize, IntoParams)]
pub struct DiffQuery {
    /// The version to compare with; default: the one before.
    pub against: Option<i64>,
}

/// Every version of a workflow, newest first.
#[utoipa::path(get, path = "/api/workflows/{id}/versions", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<VersionResponse>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_versions(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Vec<VersionResponse>>, ApiError> {
    let versions = state.engine.list_versions(auth.org_id, id).await?;
    Ok(Json(versions.into_iter().map(Into::into).collect()))
}

/// One version of a workflow.
#[utoipa::path(get, path = "/api/workflows/{id}/versions/{version}", tag = "workflows", params(("id" = Uuid, Path), ("version" = i64, Path)),
    responses((status = 200, body = VersionResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_version(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, version)): ApiPath<(Uuid, i64)>,
) -> Result<Json<VersionResponse>, ApiError> {
    let v = state.engine.get_version(auth.org_id, id, version).await?;
    Ok(Json(v.into()))
}

/// What changed between two versions: nodes (by id) added, removed and changed (with the
/// fields that changed), edges (by `from`, `output`, `to`) added and removed.
#[utoipa::path(get, path = "/api/workflows/{id}/versions/{version}/diff", tag = "workflows",
    params(("id" = Uuid, Path), ("version" = i64, Path), DiffQuery),
    responses((status = 200, body = VersionDiffResponse), (status = 404, body = ErrorBody, description = "no such workflow, version or `against` version")),
    security(("bearer" = [])))]
async fn diff_version(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, version)): ApiPath<(Uuid, i64)>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<VersionDiffResponse>, ApiError> {
    let VersionDiff {
        version,
        against,
        diff,
    } = state
        .engine
        .diff_versions(auth.org_id, id, version, q.against)
        .await?;
    Ok(Json(VersionDiffResponse {
        workflow_id: id,
        version,
        against,
        summary: diff.summary(),
        changes: diff,
    }))
}

/// Make an old version's definition current again, as a new version (history is kept).
/// Restoring the definition that is already current is a no-op: the workflow, unchanged.
#[utoipa::path(post, path = "/api/workflows/{id}/versions/{version}/restore", tag = "workflows", params(("id" = Uuid, Path), ("version" = i64, Path)),
    responses((status = 200, body = WorkflowResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn restore_version(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath((id, version)): ApiPath<(Uuid, i64)>,
) -> Result<Json<WorkflowResponse>, ApiError> {
    let wf = state
        .engine
        .restore_version(auth.org_id, id, Some(auth.user_id), version)
        .await?;
    Ok(Json(wf.into()))
}
