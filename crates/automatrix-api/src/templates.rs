//! `/api/templates`: the built-in templates (read-only) and the organization's own, and
//! instantiating any of them into a workflow. The rules live in the engine
//! (`Engine::instantiate_template` and friends); this module maps HTTP onto them.

use automatrix_core::template::{Parameter, TemplateSpec};
use automatrix_store::TemplateRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::workflows::{WorkflowResponse, check_name};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template, delete_template))
        .routes(routes!(instantiate_template))
}

/// A template in a list: what a gallery shows, without the definition.
#[derive(Serialize, ToSchema)]
pub struct TemplateSummary {
    pub id: Uuid,
    /// Built-in templates: their stable name.
    pub slug: Option<String>,
    pub name: String,
    pub category: String,
    pub description: String,
    /// Shipped with AutoMatrix (read-only) rather than the organization's own.
    pub builtin: bool,
    pub parameters: Vec<Parameter>,
    /// How many steps the definition has (what a gallery card shows without the definition).
    pub node_count: usize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for TemplateSummary {
    fn from(r: TemplateRow) -> Self {
        let builtin = r.builtin();
        let spec = r.spec.0;
        Self {
            id: r.id,
            slug: r.slug,
            name: spec.name,
            category: spec.category,
            description: spec.description,
            builtin,
            node_count: spec.definition["nodes"].as_array().map_or(0, Vec::len),
            parameters: spec.parameters,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A whole template: its content (`parameters`, `definition`, `sample_input`, ...) and where it
/// comes from.
#[derive(Serialize, ToSchema)]
pub struct TemplateResponse {
    pub id: Uuid,
    pub builtin: bool,
    #[serde(flatten)]
    pub spec: TemplateSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TemplateRow> for TemplateResponse {
    fn from(r: TemplateRow) -> Self {
        Self {
            id: r.id,
            builtin: r.builtin(),
            spec: r.spec.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateSummary>,
}

#[derive(Deserialize, IntoParams)]
pub struct TemplateQuery {
    /// Only this category (`Sales`, `Service`, `Parts`, `Marketing`).
    pub category: Option<String>,
}

/// "Save this workflow as a template": a template of the workflow's current definition, with
/// no parameters yet.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateFromWorkflow {
    pub workflow_id: Uuid,
    pub category: String,
    /// Default: the workflow's name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `{name, parameters}`: the new workflow's name and a value per parameter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstantiateRequest {
    pub name: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub parameters: Map<String, Value>,
}

/// The built-in templates and the organization's own, by category and name.
#[utoipa::path(get, path = "/api/templates", tag = "templates", params(TemplateQuery),
    responses((status = 200, body = TemplateList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_templates(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<TemplateQuery>,
) -> Result<Json<TemplateList>, ApiError> {
    let rows = state.store().list_templates(auth.org_id).await?;
    let items = rows
        .into_iter()
        .filter(|r| q.category.as_ref().is_none_or(|c| *c == r.category))
        .map(Into::into)
        .collect();
    Ok(Json(TemplateList { items }))
}

/// One template, whole.
#[utoipa::path(get, path = "/api/templates/{id}", tag = "templates", params(("id" = Uuid, Path)),
    responses((status = 200, body = TemplateResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_template(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TemplateResponse>, ApiError> {
    let row = state
        .store()
        .get_template(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(row.into()))
}

/// Saves a template of the organization's own: a whole template (`TemplateSpec`: name,
/// category, description, parameters, definition with `[[placeholders]]`, sample_input), or
/// `{workflow_id, category, name?}` to save a workflow as a template.
#[utoipa::path(post, path = "/api/templates", tag = "templates", request_body = TemplateSpec,
    responses((status = 201, body = TemplateResponse), (status = 404, body = ErrorBody, description = "`workflow_id` names no workflow of the organization"),
        (status = 422, body = ErrorBody, description = "every problem of the template, with its path")),
    security(("bearer" = [])))]
async fn create_template(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<TemplateResponse>), ApiError> {
    let user = Some(auth.user_id);
    let row = if body.get("workflow_id").is_some() {
        let from: TemplateFromWorkflow = shaped(body)?;
        let name = from.name.as_deref().map(check_name).transpose()?;
        state
            .engine
            .template_from_workflow(auth.org_id, user, from.workflow_id, from.category, name)
            .await?
    } else {
        state
            .engine
            .create_template(auth.org_id, user, shaped(body)?)
            .await?
    };
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// A body read as `T`, or a 422 at `body` saying what did not fit.
fn shaped<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_json::from_value(body).map_err(|e| ApiError::Validation {
        message: "request body does not match the expected shape".into(),
        details: vec![automatrix_core::Problem {
            path: "body".into(),
            issue: e.to_string(),
        }],
    })
}

/// Replaces a template of the organization's own (403 for a built-in one).
#[utoipa::path(put, path = "/api/templates/{id}", tag = "templates", params(("id" = Uuid, Path)), request_body = TemplateSpec,
    responses((status = 200, body = TemplateResponse), (status = 403, body = ErrorBody, description = "a built-in template"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_template(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(spec): ApiJson<TemplateSpec>,
) -> Result<Json<TemplateResponse>, ApiError> {
    let row = state.engine.update_template(auth.org_id, id, spec).await?;
    Ok(Json(row.into()))
}

/// Deletes a template of the organization's own (403 for a built-in one).
#[utoipa::path(delete, path = "/api/templates/{id}", tag = "templates", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody, description = "a built-in template"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_template(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_template(auth.org_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new workflow from the template: the parameters are checked (422 naming each missing,
/// ill-typed or unknown one, and credentials that are not the organization's of the right
/// type) and substituted into the definition.
#[utoipa::path(post, path = "/api/templates/{id}/instantiate", tag = "templates", params(("id" = Uuid, Path)),
    request_body = InstantiateRequest,
    responses((status = 201, body = WorkflowResponse), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "`parameters.<name>` for each bad parameter")),
    security(("bearer" = [])))]
async fn instantiate_template(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<InstantiateRequest>,
) -> Result<(StatusCode, Json<WorkflowResponse>), ApiError> {
    let name = check_name(&req.name)?;
    let wf = state
        .engine
        .instantiate_template(auth.org_id, Some(auth.user_id), id, name, &req.parameters)
        .await?;
    Ok((StatusCode::CREATED, Json(wf.into())))
}
