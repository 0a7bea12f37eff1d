//! `/api/auth/*` routes.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::mfa::{MfaChallengeResponse, start_challenge};
use super::password;
use crate::access::Account;
use crate::audit::{self, Actor};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, OptionalJson};
use crate::state::AppState;
use automatrix_engine::{random_token, token_hash};
use automatrix_store::{NewRefreshToken, NewUser, StoreError, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(super::mfa::router())
        .merge(super::sessions::router())
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    pub password: String,
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, Default, ToSchema)]
pub struct LogoutRequest {
    /// Ends this session (its token family); without it, every session of the user ends.
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserResponse {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// The organization requests act in without `X-Organization-Id` (the user's first); null
    /// when they belong to none.
    pub organization_id: Option<Uuid>,
    /// Whether logging in takes a second factor (TOTP or a recovery code).
    pub mfa_enabled: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// What a login answers: tokens, or (with MFA on) a challenge to answer at
/// `POST /api/auth/mfa/verify`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenResponse),
    MfaRequired(MfaChallengeResponse),
}

impl UserResponse {
    fn new(u: User, organization_id: Option<Uuid>) -> Self {
        Self {
            id: u.id,
            email: u.email,
            name: u.name,
            organization_id,
            mfa_enabled: u.mfa_enabled,
        }
    }
}

const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 256;

pub(crate) fn check_password(path: &str, pw: &str, problems: &mut Vec<automatrix_core::Problem>) {
    let n = pw.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        problems.push(automatrix_core::Problem {
            path: path.into(),
            issue: format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        });
    }
}

pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

/// Create an account and its organization.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserResponse), (status = 409, body = ErrorBody, description = "email already registered"), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, axum::Json<UserResponse>), ApiError> {
    let email = normalize_email(&req.email);
    let name = req.name.trim().to_owned();
    let mut problems = Vec::new();
    if !valid_email(&email) {
        problems.push(automatrix_core::Problem {
            path: "email".into(),
            issue: "must be a valid email address".into(),
        });
    }
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(automatrix_core::Problem {
            path: "name".into(),
            issue: "must be 1 to 200 characters".into(),
        });
    }
    check_password("password", &req.password, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation {
            message: "registration is invalid".into(),
            details: problems,
        });
    }
    let password_hash = password::hash(req.password).await?;
    let new = NewUser {
        id: Uuid::now_v7(),
        organization_id: Uuid::now_v7(),
        organization_name: format!("{name}'s organization"),
        email,
        name,
        password_hash,
        now: Utc::now(),
    };
    let user = state
        .store()
        .create_user_with_organization(new)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                ApiError::Conflict("an account with this email already exists".into())
            }
            other => other.into(),
        })?;
    let org = user.organization_id;
    let actor = Actor {
        organization_id: Some(org),
        ..Actor::user(user.id)
    };
    audit::record(
        &state,
        actor,
        "auth.register",
        Some(user.id.to_string()),
        ip,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(UserResponse::new(user, Some(org))),
    ))
}

/// Exchange email and password for tokens; with MFA on, for a challenge (`mfa_required`,
/// `mfa_token`) that `POST /api/auth/mfa/verify` exchanges for tokens.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "too many failed logins for this email or from this address; `Retry-After` says when to come back")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    let email = normalize_email(&req.email);
    // Counted (and refused while locked out) before the lookup, the same for any email.
    let attempt = state.auth_limits.login_attempt(&email, ip).await?;
    let user = state.store().find_user_by_email(&email).await?;
    // An unknown email is checked against a dummy hash: the same work, the same answer.
    let ok = password::verify(req.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user_id = user.as_ref().map(|u| u.id);
    let actor = Actor {
        user_id,
        ..Actor::default()
    };
    let target = user_id.map(|id| id.to_string());
    let user = match user {
        Some(u) if ok => u,
        _ => {
            audit::record(&state, actor, "auth.login_failed", target, ip).await;
            return Err(ApiError::Unauthorized("invalid email or password"));
        }
    };
    attempt.succeeded().await?;
    // With MFA on, the sign-in completes at /api/auth/mfa/verify, which records it.
    let action = if user.mfa_enabled {
        "auth.mfa_challenge"
    } else {
        "auth.login"
    };
    audit::record(&state, actor, action, target, ip).await;
    if user.mfa_enabled {
        return Ok(axum::Json(LoginResponse::MfaRequired(
            start_challenge(&state, &user).await?,
        )));
    }
    Ok(axum::Json(LoginResponse::Tokens(
        issue_tokens(&state, &user, Uuid::now_v7()).await?,
    )))
}

/// Rotate a refresh token. Reusing a spent token revokes its whole family.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    const INVALID: ApiError = ApiError::Unauthorized("invalid or expired refresh token");
    let store = state.store();
    let now = Utc::now();
    let token = store
        .find_refresh_token(&token_hash(&req.refresh_token))
        .await?
        .ok_or(INVALID)?;
    if token.revoked_at.is_some() || token.expires_at <= now {
        return Err(INVALID);
    }
    if token.used_at.is_some() || !store.spend_refresh_token(token.id, now).await? {
        tracing::warn!(user_id = %token.user_id, family_id = %token.family_id, "refresh token reused; revoking its family");
        store.revoke_refresh_family(token.family_id, now).await?;
        return Err(INVALID);
    }
    let user = store.get_user(token.user_id).await?.ok_or(INVALID)?;
    Ok(axum::Json(
        issue_tokens(&state, &user, token.family_id).await?,
    ))
}

/// End a session (or all sessions) of the caller.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body(content = LogoutRequest, description = "optional"),
    responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    auth: Account,
    OptionalJson(req): OptionalJson<LogoutRequest>,
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let now = Utc::now();
    match req.refresh_token {
        Some(t) => {
            if let Some(token) = store.find_refresh_token(&token_hash(&t)).await?
                && token.user_id == auth.user_id
            {
                store.revoke_refresh_family(token.family_id, now).await?;
            }
        }
        None => store.revoke_user_refresh_tokens(auth.user_id, now).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = UserResponse), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn me(
    State(state): State<AppState>,
    auth: Account,
) -> Result<axum::Json<UserResponse>, ApiError> {
    let user = state
        .store()
        .get_user(auth.user_id)
        .await?
        .ok_or(ApiError::Unauthorized("account no longer exists"))?;
    let first = state.store().member_access(user.id, None).await?;
    Ok(axum::Json(UserResponse::new(
        user,
        first.map(|a| a.organization_id),
    )))
}

/// Change the caller's password; every other session of the user ends (the caller's own
/// session stays; with an API key, every session ends).
#[utoipa::path(post, path = "/api/auth/change-password", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    auth: Account,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let mut problems = Vec::new();
    check_password("new_password", &req.new_password, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation {
            message: "new password is invalid".into(),
            details: problems,
        });
    }
    let store = state.store();
    let user = store
        .get_user(auth.user_id)
        .await?
        .ok_or(ApiError::Unauthorized("account no longer exists"))?;
    if !password::verify(req.current_password, Some(user.password_hash)).await? {
        return Err(ApiError::invalid("current_password", "is not correct"));
    }
    let hash = password::hash(req.new_password).await?;
    let now = Utc::now();
    store.update_user_password(user.id, &hash, now).await?;
    match auth.session_id {
        Some(current) => {
            store
                .revoke_other_refresh_families(user.id, current, now)
                .await?;
        }
        None => store.revoke_user_refresh_tokens(user.id, now).await?,
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A new refresh token in `family` and an access token of that session.
pub(crate) async fn issue_tokens(
    state: &AppState,
    user: &User,
    family: Uuid,
) -> Result<TokenResponse, ApiError> {
    let cfg = &state.config.auth;
    let now = Utc::now();
    let refresh = random_token();
    let ttl = chrono::Duration::from_std(cfg.refresh_ttl)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .store()
        .insert_refresh_token(NewRefreshToken {
            id: Uuid::now_v7(),
            user_id: user.id,
            family_id: family,
            token_hash: token_hash(&refresh),
            expires_at: now + ttl,
            now,
        })
        .await?;
    Ok(TokenResponse {
        access_token: cfg.mint_session_access_token(user.id, Some(family), now)?,
        refresh_token: refresh,
        token_type: "bearer",
        expires_in: cfg.access_ttl.as_secs(),
    })
}
