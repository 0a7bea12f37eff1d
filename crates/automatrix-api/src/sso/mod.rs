//! Single sign-on with OpenID Connect (authorization code flow with PKCE S256):
//! `GET /api/auth/sso/login` sends the browser to the identity provider, which sends it back
//! to `GET /api/auth/sso/callback`; the callback exchanges the code, verifies the ID token and
//! signs the user in, provisioning the account into the organization that claims its email
//! domain. The protocol is [`oidc`]; who may sign in is decided here.
//!
//! A sign-in in flight is a database row (the state's hash, the PKCE verifier, the nonce), so
//! login and callback may reach different API processes; the callback spends it once.

pub mod oidc;

use automatrix_core::Role;
use automatrix_engine::{random_token, token_hash};
use automatrix_store::{InvitedUser, NewSsoLogin, StoreError, User};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::auth::{TokenResponse, issue_tokens, normalize_email, valid_email};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use oidc::{OidcClient, OidcError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sso_login))
        .routes(routes!(sso_callback))
}

/// How long a started sign-in may take to come back.
const LOGIN_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// What an account created by single sign-on has for a password hash: not a PHC string, so
/// no password ever matches it (password login answers 401 as for a wrong password).
pub(crate) const NO_PASSWORD: &str = "!sso";

#[derive(Deserialize, IntoParams)]
pub struct LoginQuery {
    /// `false`: answer the URL as JSON instead of redirecting (also with
    /// `Accept: application/json`).
    pub redirect: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AuthorizationUrl {
    /// Where to send the browser.
    pub authorization_url: String,
}

#[derive(Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the identity provider when it refused the sign-in.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn client(state: &AppState) -> Result<&OidcClient, ApiError> {
    state
        .sso
        .as_deref()
        .ok_or_else(|| ApiError::NotConfigured("single sign-on is not configured".into()))
}

fn from_oidc(e: OidcError) -> ApiError {
    match e {
        OidcError::Unavailable(m) => ApiError::Unavailable(format!("identity provider: {m}")),
        OidcError::CodeRefused(m) => {
            tracing::info!(reason = %m, "SSO code refused");
            ApiError::Unauthorized("the identity provider refused the sign-in code")
        }
        OidcError::InvalidToken(m) => {
            tracing::warn!(reason = %m, "SSO ID token refused");
            ApiError::Unauthorized("the identity provider's ID token is invalid")
        }
    }
}

/// Start a single sign-on: redirects (302) to the identity provider, or answers the URL.
#[utoipa::path(get, path = "/api/auth/sso/login", tag = "auth", params(LoginQuery),
    responses((status = 302, description = "to the identity provider"),
        (status = 200, body = AuthorizationUrl, description = "with redirect=false or Accept: application/json"),
        (status = 404, body = ErrorBody, description = "single sign-on is not configured"),
        (status = 503, body = ErrorBody, description = "the identity provider is unreachable")))]
async fn sso_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<LoginQuery>,
) -> Result<Response, ApiError> {
    let client = client(&state)?;
    let (sso_state, nonce, verifier) = (random_token(), random_token(), random_token());
    let binding = random_token();
    let url = client
        .authorization_url(&sso_state, &nonce, &verifier)
        .await
        .map_err(from_oidc)?;
    let now = Utc::now();
    state
        .store()
        .create_sso_login(NewSsoLogin {
            id: Uuid::now_v7(),
            state_hash: bound_state_hash(&sso_state, &binding),
            code_verifier: verifier,
            nonce,
            expires_at: now + LOGIN_TTL,
            now,
        })
        .await?;
    let wants_json = q.redirect == Some(false)
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
    let cookie = binding_cookie(client, &binding, LOGIN_TTL.num_seconds());
    if wants_json {
        let body = axum::Json(AuthorizationUrl {
            authorization_url: url,
        });
        return Ok(([(header::SET_COOKIE, cookie)], body).into_response());
    }
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

/// Finish a single sign-on: the identity provider sends the browser here with a code. Answers
/// the same tokens as a password login.
#[utoipa::path(get, path = "/api/auth/sso/callback", tag = "auth", params(CallbackQuery),
    responses((status = 200, body = TokenResponse),
        (status = 400, body = ErrorBody, description = "no code or state"),
        (status = 401, body = ErrorBody, description = "refused by the provider, an unknown, used or expired state, an invalid ID token, or an unverified email"),
        (status = 403, body = ErrorBody, description = "no organization accepts sign-ins from this email domain"),
        (status = 404, body = ErrorBody, description = "single sign-on is not configured"),
        (status = 503, body = ErrorBody, description = "the identity provider is unreachable")))]
async fn sso_callback(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let client = client(&state)?;
    let store = state.store();
    let now = Utc::now();
    if let Some(error) = q.error {
        // The state is spent all the same: this sign-in is over.
        if let Some(s) = &q.state
            && let Some(binding) = binding_of(&headers)
        {
            store
                .spend_sso_login(&bound_state_hash(s, &binding), now)
                .await?;
        }
        let description = q.error_description.unwrap_or_default();
        let message: String =
            format!("the identity provider refused the sign-in: {error} {description}")
                .trim()
                .chars()
                .take(300)
                .collect();
        return Err(ApiError::SignInRefused(message));
    }
    let (Some(code), Some(sso_state)) = (q.code, q.state) else {
        return Err(ApiError::BadRequest(
            "the callback needs `code` and `state`".into(),
        ));
    };
    let binding = binding_of(&headers).ok_or(ApiError::Unauthorized(
        "this sign-in was not started in this browser: start again",
    ))?;
    let login = store
        .spend_sso_login(&bound_state_hash(&sso_state, &binding), now)
        .await?
        .ok_or(ApiError::Unauthorized(
            "this sign-in is unknown, expired or already finished: start again",
        ))?;
    let claims = client
        .finish(&code, &login.code_verifier, &login.nonce)
        .await
        .map_err(from_oidc)?;
    if !claims.email_is_verified() {
        return Err(ApiError::Unauthorized(
            "the identity provider has not verified this email address",
        ));
    }
    let email = normalize_email(claims.email.as_deref().unwrap_or_default());
    if !valid_email(&email) {
        return Err(ApiError::Unauthorized(
            "the identity provider gave no usable email address",
        ));
    }
    let name = claims
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default())
        .chars()
        .take(200)
        .collect::<String>();
    let user = provision(&state, &email, name, ip).await?;
    audit::record(
        &state,
        Actor::user(user.id),
        "auth.sso_login",
        Some(user.id.to_string()),
        ip,
    )
    .await;
    let tokens = issue_tokens(&state, &user, Uuid::now_v7()).await?;
    let spent = binding_cookie(client, "", 0);
    Ok(([(header::SET_COOKIE, spent)], axum::Json(tokens)))
}

/// The cookie that ties a sign-in to the browser that started it (RFC 6749 §10.12): without
/// it, someone could finish their own sign-in in a victim's browser (login CSRF). Only its
/// hash with the state is stored.
const BINDING_COOKIE: &str = "automatrix_sso";

fn bound_state_hash(state: &str, binding: &str) -> String {
    token_hash(&format!("{state}.{binding}"))
}

/// `Set-Cookie` for the binding: `max_age` 0 removes it. Lax, so the provider's redirect (a
/// top-level GET) carries it; `Secure` when the callback is https.
fn binding_cookie(client: &OidcClient, binding: &str, max_age: i64) -> String {
    let secure = if client.config.redirect_uri.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{BINDING_COOKIE}={binding}; Path=/api/auth/sso; Max-Age={max_age}; HttpOnly; \
         SameSite=Lax{secure}"
    )
}

fn binding_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == BINDING_COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// The account for a verified `email`: the existing one (joined to the organization that
/// claims its domain, if not a member yet), or a new one in that organization.
async fn provision(
    state: &AppState,
    email: &str,
    name: String,
    ip: std::net::IpAddr,
) -> Result<User, ApiError> {
    let store = state.store();
    let now = Utc::now();
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    let claim = store.find_sso_domain(domain).await?;
    if let Some(user) = store.find_user_by_email(email).await? {
        if let Some(claim) = claim
            && store
                .join_organization(claim.organization_id, user.id, claim.role, now)
                .await?
        {
            joined(state, claim.organization_id, user.id, claim.role, ip).await;
        }
        return Ok(user);
    }
    let Some(claim) = claim else {
        return Err(ApiError::Forbidden(
            "no organization accepts sign-ins from this domain".into(),
        ));
    };
    let new = InvitedUser {
        id: Uuid::now_v7(),
        email: email.to_owned(),
        name,
        password_hash: NO_PASSWORD.to_owned(),
    };
    let user = match store
        .create_sso_user(claim.organization_id, claim.role, new, now)
        .await
    {
        Ok(user) => user,
        // Two first sign-ins at once: the other created the account.
        Err(StoreError::Conflict(_)) => store
            .find_user_by_email(email)
            .await?
            .ok_or_else(|| ApiError::Conflict("the account is being created: try again".into()))?,
        Err(e) => return Err(e.into()),
    };
    let actor = Actor {
        organization_id: Some(claim.organization_id),
        ..Actor::user(user.id)
    };
    audit::record(
        state,
        actor,
        "auth.sso_register",
        Some(user.id.to_string()),
        ip,
    )
    .await;
    Ok(user)
}

async fn joined(state: &AppState, org: Uuid, user: Uuid, role: Role, ip: std::net::IpAddr) {
    tracing::info!(%org, %user, role = role.as_str(), "SSO sign-in joined the organization of its domain");
    let actor = Actor {
        organization_id: Some(org),
        ..Actor::user(user)
    };
    audit::record(state, actor, "member.sso_join", Some(user.to_string()), ip).await;
}
