//! `/api/auth/sessions`: the caller's login sessions (one per refresh-token family with a
//! live token), and ending one.
//!
//! An access token names its session in its `sid` claim, which is how `current` is known.
//! Ending a session revokes its refresh tokens; access tokens already issued for it stay
//! valid until they expire (at most the access-token lifetime, 15 minutes).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::Account;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

#[derive(Serialize, ToSchema)]
pub struct SessionResponse {
    /// The session's id (its refresh-token family).
    pub id: Uuid,
    /// When the login happened.
    pub created_at: DateTime<Utc>,
    /// When the session was last refreshed (at login, if never).
    pub refreshed_at: DateTime<Utc>,
    /// When the session ends unless refreshed.
    pub expires_at: DateTime<Utc>,
    /// Whether the caller's access token belongs to this session.
    pub current: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionResponse>,
}

/// The caller's active sessions, newest login first.
#[utoipa::path(get, path = "/api/auth/sessions", tag = "auth",
    responses((status = 200, body = SessionList), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    auth: Account,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = state
        .store()
        .list_refresh_sessions(auth.user_id, Utc::now())
        .await?;
    Ok(Json(SessionList {
        items: sessions
            .into_iter()
            .map(|s| SessionResponse {
                current: auth.session_id == Some(s.id),
                id: s.id,
                created_at: s.created_at,
                refreshed_at: s.refreshed_at,
                expires_at: s.expires_at,
            })
            .collect(),
    }))
}

/// End one of the caller's sessions (its refresh token stops working).
#[utoipa::path(delete, path = "/api/auth/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "The session id")),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no active session of the caller's has this id")),
    security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    auth: Account,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state
        .store()
        .revoke_user_refresh_session(auth.user_id, id, Utc::now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
