//! [`Access::Ticket`](super::policy::Access::Ticket): a WebSocket opened with a one-use ticket.
//! The ticket is spent here, before the upgrade; the member it names must still belong to its
//! organization, with the lesser of the ticket's role and their role now.

use automatrix_core::Role;
use axum::extract::Query;
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;

use super::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

const NO_TICKET: &str = "a WebSocket needs ?ticket= with a ticket from POST /api/auth/ws-ticket";
const BAD_TICKET: &str =
    "the ticket is unknown, used or expired: get a new one from POST /api/auth/ws-ticket";

pub(super) async fn redeem(
    state: &AppState,
    parts: &Parts,
    needed: Role,
) -> Result<AuthUser, ApiError> {
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return Err(ApiError::BadRequest(
            "this route opens a WebSocket: connect with a WebSocket client".into(),
        ));
    }
    let ticket = Query::<TicketQuery>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.ticket)
        .ok_or(ApiError::Unauthorized(NO_TICKET))?;
    let granted = state
        .engine
        .redeem_ws_ticket(&ticket)
        .await?
        .ok_or(ApiError::Unauthorized(BAD_TICKET))?;
    let access = state
        .engine
        .store()
        .member_access(granted.user_id, Some(granted.organization_id))
        .await?
        .ok_or(ApiError::Unauthorized(BAD_TICKET))?;
    let role = granted.role.least(access.role);
    super::at_least(role, needed)?;
    Ok(AuthUser {
        user_id: granted.user_id,
        org_id: granted.organization_id,
        role,
        api_key: granted.api_key_id,
    })
}
