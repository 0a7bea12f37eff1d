//! `/api/credentials/*`: the organization's credentials vault. Data is write-only: it is
//! checked against its type, sealed by the engine, and no response ever contains it. Nodes
//! name a credential by its id (`credential_id`).

use automatrix_core::credentials::{CredentialType, credential_types};
use automatrix_engine::{CredentialChange, NewCredentialRequest};
use automatrix_store::Credential;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::workflows::check_name;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials, create_credential))
        .routes(routes!(
            get_credential,
            update_credential,
            delete_credential
        ))
        .routes(routes!(list_credential_types))
}

/// A credential as the API shows it: never its data.
#[derive(Serialize, ToSchema)]
pub struct CredentialResponse {
    pub id: Uuid,
    pub name: String,
    /// The credential type (`smtp`, `http_bearer`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Credential> for CredentialResponse {
    fn from(c: Credential) -> Self {
        Self {
            id: c.id,
            name: c.name,
            kind: c.kind,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCredential {
    /// Unique within the organization.
    pub name: String,
    /// One of `GET /api/credential-types`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The secret fields, as the type's `data_schema` describes. Write-only.
    pub data: Value,
}

/// A new name, new data (same type: replaces all of it), or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCredential {
    pub name: Option<String>,
    pub data: Option<Value>,
}

/// A credential type and the JSON Schema of its data.
#[derive(Serialize, ToSchema)]
pub struct CredentialTypeResponse {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: &'static str,
    pub data_schema: Value,
}

impl From<&CredentialType> for CredentialTypeResponse {
    fn from(t: &CredentialType) -> Self {
        Self {
            kind: t.kind,
            description: t.description,
            data_schema: t.data_schema.clone(),
        }
    }
}

/// Credentials of the caller's organization, by name (without their data).
#[utoipa::path(get, path = "/api/credentials", tag = "credentials",
    responses((status = 200, body = CredentialList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_credentials(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<CredentialList>, ApiError> {
    let rows = state.store().list_credentials(auth.org_id).await?;
    Ok(Json(CredentialList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Save a credential. Its data is checked against the type, encrypted at rest and never
/// returned.
#[utoipa::path(post, path = "/api/credentials", tag = "credentials", request_body = CreateCredential,
    responses((status = 201, body = CredentialResponse), (status = 409, body = ErrorBody, description = "the name is taken"),
        (status = 422, body = ErrorBody, description = "every problem with its path (never the value)")), security(("bearer" = [])))]
async fn create_credential(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<CreateCredential>,
) -> Result<(StatusCode, Json<CredentialResponse>), ApiError> {
    let new = NewCredentialRequest {
        name: check_name(&req.name)?,
        kind: req.kind,
        data: req.data,
    };
    let saved = state.engine.create_credential(auth.org_id, new).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// One credential (without its data).
#[utoipa::path(get, path = "/api/credentials/{id}", tag = "credentials", params(("id" = Uuid, Path)),
    responses((status = 200, body = CredentialResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_credential(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CredentialResponse>, ApiError> {
    let found = state
        .store()
        .get_credential(auth.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(found.into()))
}

/// Rename a credential or replace its data (rotation); the type stays.
#[utoipa::path(put, path = "/api/credentials/{id}", tag = "credentials", params(("id" = Uuid, Path)), request_body = UpdateCredential,
    responses((status = 200, body = CredentialResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn update_credential(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<UpdateCredential>,
) -> Result<Json<CredentialResponse>, ApiError> {
    let change = CredentialChange {
        name: req.name.as_deref().map(check_name).transpose()?,
        data: req.data,
    };
    let saved = state
        .engine
        .update_credential(auth.org_id, id, change)
        .await?;
    Ok(Json(saved.into()))
}

/// Delete a credential. Nodes that name it fail from then on, with a message saying so.
#[utoipa::path(delete, path = "/api/credentials/{id}", tag = "credentials", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_credential(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_credential(auth.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The credential types and what each one's data holds (for the settings forms).
#[utoipa::path(get, path = "/api/credential-types", tag = "credentials",
    responses((status = 200, body = [CredentialTypeResponse])))]
async fn list_credential_types() -> Json<Vec<CredentialTypeResponse>> {
    Json(credential_types().iter().map(Into::into).collect())
}
