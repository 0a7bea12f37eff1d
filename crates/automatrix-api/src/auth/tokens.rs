//! Access tokens (short-lived HS256 JWTs), and the [`AuthUser`] extractor, which also takes API
//! keys. Refresh tokens and API keys are opaque, stored as SHA-256 (see `automatrix_engine`).

use std::time::Duration;

use automatrix_engine::is_api_key;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// Token settings. The key is derived from the master secret; `Debug` never shows it.
#[derive(Clone)]
pub struct AuthConfig {
    signing_key: Vec<u8>,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("signing_key", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish()
    }
}

const ISSUER: &str = "automatrix";

/// Claims of an access token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub org: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// The session (refresh-token family) the token was issued for; absent in tokens minted
    /// outside a login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

impl AuthConfig {
    /// Derives the JWT key from the master secret (domain-separated, so the same secret can
    /// key other things without the JWT key being one of them).
    pub fn from_master_secret(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"automatrix/jwt/v1\0");
        h.update(secret);
        Self {
            signing_key: h.finalize().to_vec(),
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }

    /// An access token for `user`, issued at `now`, belonging to no session.
    pub fn mint_access_token(
        &self,
        user: Uuid,
        org: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        self.mint_session_access_token(user, org, None, now)
    }

    /// An access token for `user`, issued at `now` for the session (refresh-token family)
    /// `sid`.
    pub fn mint_session_access_token(
        &self,
        user: Uuid,
        org: Uuid,
        sid: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user,
            org,
            iat,
            exp: iat + self.access_ttl.as_secs() as i64,
            iss: ISSUER.into(),
            sid,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.signing_key),
        )
        .map_err(|e| ApiError::Internal(format!("signing a token: {e}")))
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.signing_key), &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// What a bearer that authenticates nobody gets: the same for a bad, expired or unknown access
/// token or API key.
const INVALID: ApiError = ApiError::Unauthorized("invalid or expired token");

/// The caller, from a valid bearer: an access token, or an API key (`amx_…`), which acts as
/// the user who created it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthUser {
    pub user_id: Uuid,
    pub org_id: Uuid,
    /// The session of an access token (its `sid` claim); `None` for an API key.
    pub session_id: Option<Uuid>,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
            .ok_or(ApiError::Unauthorized("missing bearer token"))?;
        let token = token.trim();
        if is_api_key(token) {
            let key = state
                .engine
                .authenticate_api_key(token, Utc::now())
                .await?
                .ok_or(INVALID)?;
            return Ok(Self {
                user_id: key.user_id,
                org_id: key.organization_id,
                session_id: None,
            });
        }
        let claims = state.config.auth.verify(token).ok_or(INVALID)?;
        Ok(Self {
            user_id: claims.sub,
            org_id: claims.org,
            session_id: claims.sid,
        })
    }
}
