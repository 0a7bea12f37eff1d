-- One-use WebSocket tickets (`POST /api/auth/ws-ticket`): a browser cannot set headers on a
-- WebSocket, and a token must not travel in a URL, so it trades its token for a ticket valid
-- for 30 seconds and opens `/ws/...?ticket=...` with it. Only the SHA-256 of the ticket is
-- kept; redeeming deletes the row, so a ticket opens one socket, on whichever API process.
create table ws_tickets (
    ticket_hash text primary key,
    user_id blob not null references users (id) on delete cascade,
    organization_id blob not null references organizations (id) on delete cascade,
    -- The caller's role when the ticket was issued (an API key's is already capped).
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    api_key_id blob,
    expires_at text not null,
    created_at text not null
) strict;

create index ws_tickets_expires_idx on ws_tickets (expires_at);
