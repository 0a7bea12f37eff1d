//! Who a bearer is: an access token names a user; an API key (`amx_…`) names its creator, its
//! organization and its role.

use automatrix_core::Role;
use automatrix_engine::is_api_key;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// What a bearer that authenticates nobody gets: the same for a bad, expired or unknown access
/// token or API key.
const INVALID: ApiError = ApiError::Unauthorized("invalid or expired token");

/// The authenticated caller, before any organization is chosen.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Identity {
    /// A signed-in user (an access token), in the session (refresh-token family) it names.
    Session {
        user_id: Uuid,
        session_id: Option<Uuid>,
    },
    /// An API key, which acts as its creator in its organization, with at most its role.
    ApiKey {
        user_id: Uuid,
        key_id: Uuid,
        organization_id: Uuid,
        role: Role,
    },
}

/// The caller named by the request's bearer; 401 without one, or with one that is not valid.
pub(crate) async fn authenticate(state: &AppState, parts: &Parts) -> Result<Identity, ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("missing bearer token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or(ApiError::Unauthorized("missing bearer token"))?
        .trim();
    if is_api_key(token) {
        let key = state
            .engine
            .authenticate_api_key(token, Utc::now())
            .await?
            .ok_or(INVALID)?;
        return Ok(Identity::ApiKey {
            user_id: key.user_id,
            key_id: key.id,
            organization_id: key.organization_id,
            role: key.role,
        });
    }
    let claims = state.config.auth.verify(token).ok_or(INVALID)?;
    Ok(Identity::Session {
        user_id: claims.sub,
        session_id: claims.sid,
    })
}
