//! Real time over WebSockets: `POST /api/auth/ws-ticket` trades the caller's bearer for a
//! one-use ticket (browsers cannot set headers on a WebSocket, and tokens never go into URLs),
//! and `GET /ws/…?ticket=…` upgrades to a socket that streams live events of the ticket's
//! organization (see [`automatrix_engine::live`]): an execution's steps, a workflow's
//! executions, notifications; and the dashboard's summary, pushed periodically. The access middleware redeems the ticket
//! ([`Access::Ticket`](crate::access::policy::Access::Ticket)), so a socket's handler gets an
//! [`AuthUser`] like any other.

mod metrics;
mod sockets;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ws_ticket))
        .merge(sockets::router())
}

/// A ticket for one WebSocket.
#[derive(Serialize, ToSchema)]
pub struct WsTicketResponse {
    /// `wst_…`: open the socket with `?ticket=` and this, once, before `expires_at`.
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// Issue a one-use WebSocket ticket, valid for 30 seconds, for the caller in the request's
/// organization.
#[utoipa::path(post, path = "/api/auth/ws-ticket", tag = "live",
    responses((status = 200, body = WsTicketResponse), (status = 401, body = ErrorBody)))]
async fn ws_ticket(
    State(state): State<AppState>,
    caller: AuthUser,
) -> Result<Json<WsTicketResponse>, ApiError> {
    let (ticket, expires_at) = state
        .engine
        .issue_ws_ticket(caller.user_id, caller.org_id, caller.role, caller.api_key)
        .await?;
    Ok(Json(WsTicketResponse { ticket, expires_at }))
}
