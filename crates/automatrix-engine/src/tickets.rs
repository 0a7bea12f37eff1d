//! One-use WebSocket tickets: a browser cannot set headers on a WebSocket and a token must
//! not travel in a URL, so a signed-in caller trades its bearer for a ticket valid for
//! [`WS_TICKET_TTL`] and opens the socket with `?ticket=…`. Only the ticket's SHA-256 is
//! stored; redeeming deletes it, so it opens one socket, on any API process.

use std::time::Duration;

use automatrix_core::Role;
use automatrix_store::{NewWsTicket, WsTicket};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::tokens::{random_token, token_hash};
use crate::{Engine, EngineError};

/// How long a ticket may wait before it opens a socket.
pub const WS_TICKET_TTL: Duration = Duration::from_secs(30);

/// What a ticket starts with, so it is recognisable in a log or a leaked URL.
const PREFIX: &str = "wst_";

impl Engine {
    /// Issues a ticket that lets `user` in as `role` of `org` (and, when an API key asked for
    /// it, as that key); returns it and when it expires.
    pub async fn issue_ws_ticket(
        &self,
        user: Uuid,
        org: Uuid,
        role: Role,
        api_key: Option<Uuid>,
    ) -> Result<(String, DateTime<Utc>), EngineError> {
        let ticket = format!("{PREFIX}{}", random_token());
        let now = Utc::now();
        let expires_at = now + WS_TICKET_TTL;
        self.store()
            .create_ws_ticket(NewWsTicket {
                ticket_hash: token_hash(&ticket),
                user_id: user,
                organization_id: org,
                role,
                api_key_id: api_key,
                expires_at,
                now,
            })
            .await?;
        Ok((ticket, expires_at))
    }

    /// Spends `ticket`; whom it lets in, or `None` when it is unknown, used or expired.
    pub async fn redeem_ws_ticket(&self, ticket: &str) -> Result<Option<WsTicket>, EngineError> {
        if !ticket.starts_with(PREFIX) {
            return Ok(None);
        }
        Ok(self
            .store()
            .redeem_ws_ticket(&token_hash(ticket), Utc::now())
            .await?)
    }
}
