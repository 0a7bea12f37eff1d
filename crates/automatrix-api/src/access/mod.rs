//! Access control in one place: a middleware on every route that finds the route's rule in
//! [`policy::RULES`], authenticates the bearer, picks the organization, checks the caller's
//! role, and hands the handler what it decided ([`AuthUser`], [`Account`]). After a change
//! went through, it records it in the audit log ([`crate::audit`]).
//!
//! Insufficient role → 403; an organization the caller is not a member of (in the header or
//! the path) → 404, like any other organization's resource.

mod identity;
pub mod policy;
mod ticket;

use automatrix_core::Role;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

pub(crate) use identity::{Identity, authenticate};
use policy::Access;

use crate::audit::Pending;
use crate::error::ApiError;
use crate::state::AppState;

/// The header that chooses the organization a request acts in.
pub const ORGANIZATION_HEADER: &str = "x-organization-id";

/// A member acting in an organization: what [`Access::Member`] and [`Access::OrgMember`]
/// routes get.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthUser {
    pub user_id: Uuid,
    pub org_id: Uuid,
    /// The caller's role here (for an API key: the lesser of the key's and its creator's).
    pub role: Role,
    /// The API key the request came with, if it came with one.
    pub api_key: Option<Uuid>,
}

/// A signed-in user acting on their own account: what [`Access::Account`] routes get (and
/// [`Access::OptionalAccount`] routes, when a bearer was sent).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Account {
    pub user_id: Uuid,
    /// The session the access token belongs to (its `sid` claim).
    pub session_id: Option<Uuid>,
}

/// Runs the route's rule before the handler, and audits what the handler changed.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let method = match req.method().as_str() {
        "HEAD" => "GET",
        m => m,
    };
    let Some(rule) = matched
        .as_ref()
        .and_then(|p| policy::rule_for(method, p.as_str()))
    else {
        let route = matched.as_ref().map_or("?", MatchedPath::as_str);
        tracing::error!(method, route, "route has no access rule");
        return ApiError::Internal(format!("{method} {route} has no access rule")).into_response();
    };
    let (mut parts, body) = req.into_parts();
    if let Err(e) = decide(&state, rule.access, &mut parts).await {
        return e.into_response();
    }
    if let Err(e) = within_rate(&state, &parts) {
        return e.into_response();
    }
    let audit = match rule.audit {
        Some(action) => Some(Pending::of(action, rule.path, &mut parts, &state).await),
        None => None,
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    match audit {
        Some(pending) if response.status().is_success() => pending.record(&state, response).await,
        _ => response,
    }
}

/// Takes one request from the caller's bucket (an API key's own, else the user's).
fn within_rate(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    let Some(limit) = state.config.api_rate_limit else {
        return Ok(());
    };
    let caller = match (
        parts.extensions.get::<AuthUser>(),
        parts.extensions.get::<Account>(),
    ) {
        (Some(m), _) => m.api_key.unwrap_or(m.user_id),
        (None, Some(a)) => a.user_id,
        (None, None) => return Ok(()),
    };
    state
        .api_limits
        .take(caller, limit, std::time::Instant::now())
        .map_err(crate::limits::retry_after)
}

async fn decide(state: &AppState, access: Access, parts: &mut Parts) -> Result<(), ApiError> {
    match access {
        Access::Public => Ok(()),
        Access::OptionalAccount => {
            if parts
                .headers
                .contains_key(axum::http::header::AUTHORIZATION)
            {
                let account = account(authenticate(state, parts).await?)?;
                parts.extensions.insert(account);
            }
            Ok(())
        }
        Access::Account => {
            let account = account(authenticate(state, parts).await?)?;
            parts.extensions.insert(account);
            Ok(())
        }
        Access::Member(needed) => {
            let identity = authenticate(state, parts).await?;
            let chosen = header_organization(parts)?;
            let caller = member(state, identity, chosen, needed).await?;
            parts.extensions.insert(caller);
            Ok(())
        }
        Access::OrgMember(needed) => {
            let identity = authenticate(state, parts).await?;
            let org = path_organization(parts, state).await?;
            let caller = member(state, identity, Some(org), needed).await?;
            parts.extensions.insert(caller);
            Ok(())
        }
        Access::Ticket(needed) => {
            let caller = ticket::redeem(state, parts, needed).await?;
            parts.extensions.insert(caller);
            Ok(())
        }
    }
}

/// Account routes are for people: an API key acts in an organization, never on an account.
fn account(identity: Identity) -> Result<Account, ApiError> {
    match identity {
        Identity::Session {
            user_id,
            session_id,
        } => Ok(Account {
            user_id,
            session_id,
        }),
        Identity::ApiKey { .. } => Err(ApiError::Forbidden(
            "an API key cannot act on an account; sign in as the user".into(),
        )),
    }
}

/// The caller's place in `chosen` (else their first organization), if their role is at least
/// `needed`.
async fn member(
    state: &AppState,
    identity: Identity,
    chosen: Option<Uuid>,
    needed: Role,
) -> Result<AuthUser, ApiError> {
    let (user_id, org, key) = match identity {
        Identity::Session { user_id, .. } => (user_id, chosen, None),
        Identity::ApiKey {
            user_id,
            key_id,
            organization_id,
            role,
        } => {
            if chosen.is_some_and(|c| c != organization_id) {
                return Err(ApiError::NotFound);
            }
            (user_id, Some(organization_id), Some((key_id, role)))
        }
    };
    let Some(access) = state.store().member_access(user_id, org).await? else {
        return Err(match org {
            Some(_) => ApiError::NotFound,
            None => ApiError::Forbidden(
                "you belong to no organization: create one (POST /api/orgs) or accept an \
                 invitation"
                    .into(),
            ),
        });
    };
    // A person signing in must have MFA where it is required; an API key is a credential of
    // its own, created by an admin, and is not asked for a second factor.
    if access.require_mfa && !access.mfa_enabled && key.is_none() {
        return Err(ApiError::MfaRequired(
            "this organization requires multi-factor authentication: set it up with \
             POST /api/auth/mfa/setup and /enable, then sign in again"
                .into(),
        ));
    }
    let role = key.map_or(access.role, |(_, key_role)| key_role.least(access.role));
    at_least(role, needed)?;
    Ok(AuthUser {
        user_id,
        org_id: access.organization_id,
        role,
        api_key: key.map(|(id, _)| id),
    })
}

/// 403 unless `role` allows what needs `needed`.
fn at_least(role: Role, needed: Role) -> Result<(), ApiError> {
    if role.allows(needed) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "this needs the {} role or higher; you have {}",
        needed.as_str(),
        role.as_str()
    )))
}

fn header_organization(parts: &Parts) -> Result<Option<Uuid>, ApiError> {
    let Some(value) = parts.headers.get(ORGANIZATION_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::BadRequest("X-Organization-Id must be an organization id (a UUID)".into())
        })
}

/// The organization named by the route's `{id}`; one that cannot exist is a 404.
async fn path_organization(parts: &mut Parts, state: &AppState) -> Result<Uuid, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .and_then(|(_, v)| Uuid::parse_str(v).ok())
        .ok_or(ApiError::NotFound)
}

/// What the middleware left for a handler, or a 500 naming the gap (a handler that asks for
/// a caller on a route whose rule gives none).
fn decided<T: Clone + Send + Sync + 'static>(parts: &Parts) -> Result<T, ApiError> {
    parts.extensions.get::<T>().cloned().ok_or_else(|| {
        ApiError::Internal(format!(
            "{} is not given by this route's access rule",
            std::any::type_name::<T>()
        ))
    })
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        decided(parts)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        decided(parts)
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().copied())
    }
}
