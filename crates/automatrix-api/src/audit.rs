//! The audit log: every change made through the API (recorded by [`crate::access`] after the
//! handler succeeded, under the name its rule gives) and every sign-in (recorded by the auth
//! handlers), and `GET /api/audit-log` to read an organization's.

use std::net::IpAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Account, AuthUser};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::executions::time_param;
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::workflows::{page_limit, parse_cursor};
use automatrix_store::{AuditEntry, AuditFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_log))
}

/// Who is acting, as far as an entry needs to know.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Actor {
    pub organization_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
}

impl Actor {
    /// A user acting on their own account (no organization).
    pub(crate) fn user(user_id: Uuid) -> Self {
        Self {
            user_id: Some(user_id),
            ..Self::default()
        }
    }

    fn of(parts: &Parts) -> Self {
        if let Some(m) = parts.extensions.get::<AuthUser>() {
            return Self {
                organization_id: Some(m.org_id),
                user_id: Some(m.user_id),
                api_key_id: m.api_key,
            };
        }
        parts
            .extensions
            .get::<Account>()
            .map_or_else(Self::default, |a| Self::user(a.user_id))
    }
}

/// Appends an entry; a failure is logged, not returned (the change it records is made).
pub(crate) async fn record(
    state: &AppState,
    actor: Actor,
    action: &str,
    target: Option<String>,
    ip: IpAddr,
) {
    let entry = AuditEntry {
        id: Uuid::now_v7(),
        organization_id: actor.organization_id,
        actor_id: actor.user_id,
        api_key_id: actor.api_key_id,
        action: action.to_owned(),
        target,
        ip: Some(ip.to_string()),
        created_at: Utc::now(),
    };
    if let Err(e) = state.store().record_audit(entry).await {
        tracing::error!(error = %e, action, "an audit entry could not be written");
    }
}

/// An entry to write once the handler has answered, if it succeeded.
pub(crate) struct Pending {
    action: &'static str,
    actor: Actor,
    /// The route's path parameters, joined by `/`; `None` for a creation, whose target is the
    /// `id` in its answer.
    target: Option<String>,
    ip: IpAddr,
}

/// The largest answer read for the id of what a request created.
const CREATED_BODY_LIMIT: usize = 1024 * 1024;

impl Pending {
    /// What to record of a request to `route` (its template) that the access rule let through.
    pub(crate) async fn of(
        action: &'static str,
        route: &str,
        parts: &mut Parts,
        state: &AppState,
    ) -> Self {
        Self {
            action,
            actor: Actor::of(parts),
            target: path_target(route, parts, state).await,
            ip: ClientIp::from_request_parts(parts, state)
                .await
                .map_or_else(|never| match never {}, |ClientIp(ip)| ip),
        }
    }

    /// Writes the entry and gives back the response (read and rebuilt when its body names the
    /// target).
    pub(crate) async fn record(self, state: &AppState, response: Response) -> Response {
        let (response, target) = match self.target {
            Some(t) => (response, Some(t)),
            None => created_id(response).await,
        };
        let mut actor = self.actor;
        if self.action == "organization.create" {
            // The new organization's log starts with its creation.
            actor.organization_id = target.as_deref().and_then(|t| Uuid::parse_str(t).ok());
        }
        record(state, actor, self.action, target, self.ip).await;
        response
    }
}

/// The route's path parameters joined by `/` (`{execution}/{node}`). Under
/// `/api/orgs/{id}/…` the organization is where the change happens, not what it is to, so it
/// is left out. `None` when nothing is left: the target is then what the answer describes.
async fn path_target(route: &str, parts: &mut Parts, state: &AppState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    let skip = usize::from(route.starts_with("/api/orgs/{id}/"));
    let values: Vec<&str> = params.iter().skip(skip).map(|(_, v)| v).collect();
    (!values.is_empty()).then(|| values.join("/"))
}

/// The `id` (or `execution_id`, or a member's `user_id`) of what a 2xx answer describes.
async fn created_id(response: Response) -> (Response, Option<String>) {
    use axum::body::HttpBody as _;
    // Only a whole, small answer is read (a stream is left alone).
    let small = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= CREATED_BODY_LIMIT as u64);
    if !small {
        return (response, None);
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, CREATED_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "an answer could not be read for its audit target");
            return (Response::from_parts(parts, Body::empty()), None);
        }
    };
    let id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            ["id", "execution_id", "user_id"]
                .iter()
                .find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(str::to_owned))
        });
    (Response::from_parts(parts, Body::from(bytes)), id)
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntryResponse {
    pub id: Uuid,
    /// Null for an account action (a sign-in) of one of the organization's members.
    pub organization_id: Option<Uuid>,
    /// The user who acted (for an API key, its creator); null when unknown.
    pub actor_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    /// `workflow.create`, `member.add`, `auth.login`, … (docs/security.md lists them).
    pub action: String,
    /// What it was done to: an id, or ids joined by `/`.
    pub target: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            organization_id: e.organization_id,
            actor_id: e.actor_id,
            api_key_id: e.api_key_id,
            action: e.action,
            target: e.target,
            ip: e.ip,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditLogPage {
    pub items: Vec<AuditEntryResponse>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only this user's actions.
    pub actor_id: Option<String>,
    /// An action (`workflow.create`), or a family ending in `.` (`workflow.`).
    pub action: Option<String>,
    /// Only entries about this target.
    pub target: Option<String>,
    /// Created at or after (RFC 3339).
    pub since: Option<String>,
    /// Created before (RFC 3339).
    pub until: Option<String>,
    /// 1 to 200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The organization's audit log, newest first: its changes and its members' sign-ins.
#[utoipa::path(get, path = "/api/audit-log", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditLogPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_audit_log(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditLogPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let filter = AuditFilter {
        actor_id: q
            .actor_id
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|_| ApiError::BadRequest("actor_id must be a UUID".into()))?,
        action: q.action,
        target: q.target,
        since: time_param("since", q.since.as_deref())?,
        until: time_param("until", q.until.as_deref())?,
        before: parse_cursor(q.cursor.as_deref())?,
        limit: limit + 1,
    };
    let mut rows = state.store().list_audit(auth.org_id, &filter).await?;
    let mut next_cursor = None;
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        next_cursor = rows.last().map(|e| e.id.to_string());
    }
    Ok(Json(AuditLogPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
