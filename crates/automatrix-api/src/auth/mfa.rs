//! `/api/auth/mfa/*`: TOTP setup, enabling (which hands out recovery codes), the login's
//! second step, and disabling.
//!
//! The login's second step is a challenge stored in the database (its token's SHA-256, an
//! expiry, a count of attempts, when it was used), so its limits hold across every API
//! process. Its token is opaque (`mfa_…`): not a JWT, so it is never an access token.

use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::handlers::{TokenResponse, issue_tokens};
use crate::access::Account;
use crate::audit::{self, Actor};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;
use automatrix_engine::{MfaEnabling, SecondFactor, random_token, token_hash};
use automatrix_store::{NewMfaChallenge, User};

/// How long a login's MFA challenge lasts.
pub(crate) const CHALLENGE_TTL: chrono::Duration = chrono::Duration::minutes(5);
/// Codes a challenge may be answered with before it is dead.
pub(crate) const CHALLENGE_ATTEMPTS: i32 = 5;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(enable))
        .routes(routes!(verify))
        .routes(routes!(disable))
}

#[derive(Serialize, ToSchema)]
pub struct MfaSetupResponse {
    /// The TOTP secret, base32 (for typing into an authenticator app).
    pub secret: String,
    /// The same as an `otpauth://totp/…` URL (for a QR code).
    pub otpauth_url: String,
}

#[derive(Deserialize, ToSchema)]
pub struct MfaEnableRequest {
    /// The authenticator's current six-digit code for the secret from `setup`.
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct MfaEnableResponse {
    /// Single-use codes that stand in for a TOTP code; shown this once.
    pub recovery_codes: Vec<String>,
}

/// A TOTP code or a recovery code: exactly one.
#[derive(Deserialize, ToSchema)]
pub struct MfaVerifyRequest {
    /// From the login's answer.
    pub mfa_token: String,
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

/// A TOTP code or a recovery code: exactly one.
#[derive(Deserialize, ToSchema)]
pub struct MfaDisableRequest {
    pub code: Option<String>,
    pub recovery_code: Option<String>,
}

/// A login's answer when MFA is on: no tokens yet.
#[derive(Serialize, ToSchema)]
pub struct MfaChallengeResponse {
    /// Always `true`.
    pub mfa_required: bool,
    /// For `POST /api/auth/mfa/verify`; single-use, valid for `expires_in` seconds and
    /// [`CHALLENGE_ATTEMPTS`] codes. Not an access token.
    pub mfa_token: String,
    pub expires_in: u64,
}

const INVALID_CHALLENGE: ApiError = ApiError::Unauthorized("invalid or expired MFA token");

/// Opens a login's MFA challenge for `user`.
pub(super) async fn start_challenge(
    state: &AppState,
    user: &User,
) -> Result<MfaChallengeResponse, ApiError> {
    let now = Utc::now();
    let token = format!("mfa_{}", random_token());
    state
        .store()
        .create_mfa_challenge(NewMfaChallenge {
            id: Uuid::now_v7(),
            user_id: user.id,
            token_hash: token_hash(&token),
            expires_at: now + CHALLENGE_TTL,
            now,
        })
        .await?;
    Ok(MfaChallengeResponse {
        mfa_required: true,
        mfa_token: token,
        expires_in: CHALLENGE_TTL.num_seconds().unsigned_abs(),
    })
}

/// The one factor of a request: a TOTP code or a recovery code, and the field it came in.
fn one_factor<'a>(
    code: Option<&'a str>,
    recovery_code: Option<&'a str>,
) -> Result<(SecondFactor<'a>, &'static str), ApiError> {
    match (code, recovery_code) {
        (Some(c), None) => Ok((SecondFactor::Code(c), "code")),
        (None, Some(r)) => Ok((SecondFactor::RecoveryCode(r), "recovery_code")),
        _ => Err(ApiError::invalid(
            "code",
            "give either `code` or `recovery_code`, not both or neither",
        )),
    }
}

/// Start setting up TOTP: a new pending secret (replacing a pending one).
#[utoipa::path(post, path = "/api/auth/mfa/setup", tag = "auth",
    responses((status = 200, body = MfaSetupResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "called with an API key"),
        (status = 409, body = ErrorBody, description = "MFA is already enabled")),
    security(("bearer" = [])))]
async fn setup(
    State(state): State<AppState>,
    auth: Account,
) -> Result<axum::Json<MfaSetupResponse>, ApiError> {
    let user = state
        .store()
        .get_user(auth.user_id)
        .await?
        .ok_or(ApiError::Unauthorized("account no longer exists"))?;
    let setup = state
        .engine
        .begin_mfa_setup(user.id, &user.email, Utc::now())
        .await?;
    Ok(axum::Json(MfaSetupResponse {
        secret: setup.secret,
        otpauth_url: setup.otpauth_url,
    }))
}

/// Turn MFA on with a first code of the pending secret; answers the recovery codes, once.
#[utoipa::path(post, path = "/api/auth/mfa/enable", tag = "auth", request_body = MfaEnableRequest,
    responses((status = 200, body = MfaEnableResponse), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "called with an API key"),
        (status = 409, body = ErrorBody, description = "no setup is pending (or MFA is already enabled)"),
        (status = 422, body = ErrorBody, description = "the code is wrong")),
    security(("bearer" = [])))]
async fn enable(
    State(state): State<AppState>,
    auth: Account,
    ApiJson(req): ApiJson<MfaEnableRequest>,
) -> Result<axum::Json<MfaEnableResponse>, ApiError> {
    match state
        .engine
        .enable_mfa(auth.user_id, &req.code, Utc::now())
        .await?
    {
        MfaEnabling::Enabled(recovery_codes) => {
            Ok(axum::Json(MfaEnableResponse { recovery_codes }))
        }
        MfaEnabling::WrongCode => Err(ApiError::invalid(
            "code",
            "is not the authenticator's current code",
        )),
        MfaEnabling::NotSetUp => Err(ApiError::Conflict(
            "no MFA setup is pending: call POST /api/auth/mfa/setup first".into(),
        )),
    }
}

/// The login's second step: the challenge's token and a TOTP code (or a recovery code) for
/// tokens.
#[utoipa::path(post, path = "/api/auth/mfa/verify", tag = "auth", request_body = MfaVerifyRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, body = ErrorBody, description = "the MFA token is unknown, expired, used or out of attempts"),
        (status = 422, body = ErrorBody, description = "the code is wrong (the token stays usable while it has attempts left)"),
        (status = 429, body = ErrorBody, description = "too many wrong codes for this user, or failures from this address")))]
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<MfaVerifyRequest>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    let (factor, field) = one_factor(req.code.as_deref(), req.recovery_code.as_deref())?;
    let store = state.store();
    let limits = &state.auth_limits;
    let now = Utc::now();
    // Counted per client IP (guessing tokens) and, once the challenge names its user, per
    // user (logging in again for fresh challenges does not reset the count).
    limits.ip_attempt(ip).await?;
    let challenge = store
        .attempt_mfa_challenge(&token_hash(&req.mfa_token), CHALLENGE_ATTEMPTS, now)
        .await?
        .ok_or(INVALID_CHALLENGE)?;
    limits.mfa_attempt(challenge.user_id).await?;
    let actor = Actor::user(challenge.user_id);
    let target = Some(challenge.user_id.to_string());
    if !state
        .engine
        .check_second_factor(challenge.user_id, factor, now)
        .await?
    {
        audit::record(&state, actor, "auth.mfa_failed", target, ip).await;
        return Err(ApiError::invalid(field, "is not valid"));
    }
    limits.mfa_succeeded(challenge.user_id).await?;
    limits.ip_succeeded(ip).await?;
    if !store.spend_mfa_challenge(challenge.id, now).await? {
        return Err(INVALID_CHALLENGE);
    }
    let user = store
        .get_user(challenge.user_id)
        .await?
        .ok_or(INVALID_CHALLENGE)?;
    audit::record(&state, actor, "auth.login", target, ip).await;
    Ok(axum::Json(
        issue_tokens(&state, &user, Uuid::now_v7()).await?,
    ))
}

/// Turn MFA off, proving the second factor with a TOTP code or a recovery code.
#[utoipa::path(post, path = "/api/auth/mfa/disable", tag = "auth", request_body = MfaDisableRequest,
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "called with an API key"),
        (status = 409, body = ErrorBody, description = "MFA is not enabled"),
        (status = 422, body = ErrorBody, description = "the code is wrong"),
        (status = 429, body = ErrorBody, description = "too many wrong codes")),
    security(("bearer" = [])))]
async fn disable(
    State(state): State<AppState>,
    auth: Account,
    ApiJson(req): ApiJson<MfaDisableRequest>,
) -> Result<axum::http::StatusCode, ApiError> {
    let (factor, field) = one_factor(req.code.as_deref(), req.recovery_code.as_deref())?;
    let enabled = state
        .store()
        .get_user(auth.user_id)
        .await?
        .ok_or(ApiError::Unauthorized("account no longer exists"))?
        .mfa_enabled;
    if !enabled {
        return Err(ApiError::Conflict("MFA is not enabled".into()));
    }
    // Wrong codes count against the user as at login: a stolen access token does not get
    // unlimited guesses at the code that turns MFA off.
    state.auth_limits.mfa_attempt(auth.user_id).await?;
    if !state
        .engine
        .disable_mfa(auth.user_id, factor, Utc::now())
        .await?
    {
        return Err(ApiError::invalid(field, "is not valid"));
    }
    state.auth_limits.mfa_succeeded(auth.user_id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
