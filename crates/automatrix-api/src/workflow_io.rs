//! `GET /api/workflows/{id}/export` and `POST /api/workflows/import`: a workflow as a
//! self-contained document that names its credentials (never their ids or data), and a new
//! workflow from one. The rules are the engine's (`automatrix_engine::Engine::import_workflow`).

use automatrix_core::document::WorkflowDocument;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::workflows::{WorkflowResponse, check_name};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_workflow))
        .routes(routes!(import_workflow))
}

/// A workflow as a document to import elsewhere: `{format, format_version, name, description,
/// definition, credentials}`, each credential id in the definition replaced by
/// `{"credential": "<name>"}`.
#[utoipa::path(get, path = "/api/workflows/{id}/export", tag = "workflows", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkflowDocument), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn export_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<WorkflowDocument>, ApiError> {
    Ok(Json(state.engine.export_workflow(auth.org_id, id).await?))
}

/// A new workflow (new id, new webhook token, active) from an exported document. Each credential
/// reference becomes the id of this organization's credential of that name.
#[utoipa::path(post, path = "/api/workflows/import", tag = "workflows", request_body = WorkflowDocument,
    responses((status = 201, body = WorkflowResponse),
        (status = 422, body = ErrorBody, description = "unknown format or format_version, a named credential missing here (or of another type), or an invalid definition; every problem with its path")),
    security(("bearer" = [])))]
async fn import_workflow(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(mut doc): ApiJson<WorkflowDocument>,
) -> Result<(StatusCode, Json<WorkflowResponse>), ApiError> {
    doc.name = check_name(&doc.name)?;
    let wf = state
        .engine
        .import_workflow(auth.org_id, Some(auth.user_id), doc)
        .await?;
    Ok((StatusCode::CREATED, Json(wf.into())))
}
