//! The audit log.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One audit-log entry: who did what to which thing, from where, when.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: Uuid,
    /// Null for account actions (sign-ins, password changes).
    pub organization_id: Option<Uuid>,
    /// The user who acted (for an API key: its creator); null when unknown (a failed sign-in
    /// for an address with no account).
    pub actor_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    /// What was done: `workflow.create`, `member.add`, `auth.login`, …
    pub action: String,
    /// What it was done to: an id, or several joined by `/` (`{execution}/{node}`).
    pub target: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Which entries of an organization's log to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor_id: Option<Uuid>,
    /// An action (`workflow.create`), or a family of them ending in `.` (`workflow.`).
    pub action: Option<String>,
    pub target: Option<String>,
    /// Created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Created before.
    pub until: Option<DateTime<Utc>>,
    /// Keyset cursor: entries with an id below this one.
    pub before: Option<Uuid>,
    pub limit: u32,
}
