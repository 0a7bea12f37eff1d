//! `/api/api-keys`: API keys, bearer credentials (`amx_…`) for programs. A key acts for the
//! user who created it, in the organization it was created in, with its role or its creator's
//! there, whichever is less (so removing the creator from the organization ends the key). The
//! key itself is in the creation's response and nowhere else; lists show its prefix.

use automatrix_core::Role;
use automatrix_engine::NewApiKeyRequest;
use automatrix_store::ApiKey;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(delete_api_key))
}

/// An API key as lists show it: never the key, nor its hash.
#[derive(Serialize, ToSchema)]
pub struct ApiKeyResponse {
    pub id: Uuid,
    pub name: String,
    /// The most the key may do (it never exceeds its creator's role).
    pub role: Role,
    /// The first characters of the key (`amx_3fK9x2`), to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    /// Null: the key never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key last authenticated a request, to within a minute; null if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            role: k.role,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just created, with the key itself: shown in this response only.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKeyResponse {
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// The full key, `amx_…`: send it as `Authorization: Bearer amx_…`. It cannot be shown
    /// again.
    pub key: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1 to 100 characters; unique within the organization.
    pub name: String,
    /// `owner`, `admin`, `editor` or `viewer`; at most the caller's own role.
    pub role: String,
    /// When the key stops working (RFC 3339, in the future); omitted or null: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// API keys of the caller's organization, by name (with their prefix, never the key).
#[utoipa::path(get, path = "/api/api-keys", tag = "api-keys",
    responses((status = 200, body = ApiKeyList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_api_keys(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<ApiKeyList>, ApiError> {
    let rows = state.store().list_api_keys(auth.org_id).await?;
    Ok(Json(ApiKeyList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Create an API key that acts for the caller in this organization, with at most the caller's
/// role. The response holds the key; no later one does.
#[utoipa::path(post, path = "/api/api-keys", tag = "api-keys", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKeyResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "the role is above the caller's"),
        (status = 409, body = ErrorBody, description = "the name is taken"),
        (status = 422, body = ErrorBody, description = "every problem with its path (`name`, `role`, `expires_at`)")),
    security(("bearer" = [])))]
async fn create_api_key(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<CreatedApiKeyResponse>), ApiError> {
    if let Some(role) = Role::named(&req.role)
        && !auth.role.allows(role)
    {
        return Err(ApiError::Forbidden(format!(
            "a key cannot have more than your role ({})",
            auth.role.as_str()
        )));
    }
    let new = NewApiKeyRequest {
        name: req.name,
        role: req.role,
        expires_at: req.expires_at,
    };
    let created = state
        .engine
        .create_api_key(auth.org_id, auth.user_id, new)
        .await?;
    let body = CreatedApiKeyResponse {
        api_key: created.row.into(),
        key: created.key,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Delete an API key: it stops working at once.
#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "api-keys", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_api_key(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_api_key(auth.org_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
