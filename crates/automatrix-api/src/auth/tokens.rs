//! Access tokens: short-lived HS256 JWTs, pinned to that algorithm and this issuer. Refresh
//! tokens and API keys are opaque, stored as SHA-256 (see `automatrix_engine`); who a bearer
//! is, is decided in [`crate::access`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;

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
    pub fn mint_access_token(&self, user: Uuid, now: DateTime<Utc>) -> Result<String, ApiError> {
        self.mint_session_access_token(user, None, now)
    }

    /// An access token for `user`, issued at `now` for the session (refresh-token family)
    /// `sid`.
    pub fn mint_session_access_token(
        &self,
        user: Uuid,
        sid: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<String, ApiError> {
        let iat = now.timestamp();
        let claims = Claims {
            sub: user,
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

    pub(crate) fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 5;
        v.set_issuer(&[ISSUER]);
        v.set_required_spec_claims(&["exp", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.signing_key), &v)
            .ok()
            .map(|d| d.claims)
    }
}
