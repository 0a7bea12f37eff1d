//! Organizations and their members, invitations, users, sessions, MFA, API keys and single
//! sign-on.

use automatrix_core::Role;
use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    /// Members without multi-factor authentication are refused the organization's resources.
    pub require_mfa: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organization as one of its members sees it in their list.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserOrganization {
    #[sqlx(flatten)]
    pub organization: Organization,
    #[sqlx(try_from = "String")]
    pub role: Role,
}

/// A new organization and its first owner.
#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub id: Uuid,
    pub name: String,
    pub owner: Uuid,
    pub now: DateTime<Utc>,
}

/// What an organization's settings change to; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct OrganizationUpdate {
    pub name: Option<String>,
    pub require_mfa: Option<bool>,
}

/// What a request needs to know of a caller's place in an organization: checked on every
/// authenticated request, so one indexed lookup.
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct MemberAccess {
    pub organization_id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The organization requires multi-factor authentication of its members…
    pub require_mfa: bool,
    /// …and this member has it.
    pub mfa_enabled: bool,
}

/// A member as the organization lists them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Member {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a membership change was refused, or that it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// The user is not a member.
    NotMember,
    /// The change would leave the organization without an owner.
    LastOwner,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub token_hash: String,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// An account created by accepting an invitation: it joins the inviting organization.
#[derive(Clone)]
pub struct InvitedUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
}

#[derive(Clone, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// Whether logging in takes a second factor (a TOTP code or a recovery code).
    pub mfa_enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("mfa_enabled", &self.mfa_enabled)
            .finish_non_exhaustive()
    }
}

/// A new user together with the organization created for them.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    /// Stored lower-cased; unique.
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub now: DateTime<Utc>,
}

/// An opaque refresh token, stored as a SHA-256 hash. Tokens of one login form a family;
/// rotation spends a token and issues the next in the same family.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A session: one login's family of refresh tokens while one of them is live (unspent,
/// unrevoked, unexpired).
#[derive(Clone, Debug)]
pub struct RefreshSession {
    /// The family id.
    pub id: Uuid,
    pub user_id: Uuid,
    /// When the login happened (the family's first token).
    pub created_at: DateTime<Utc>,
    /// When the session was last refreshed (its live token was issued).
    pub refreshed_at: DateTime<Utc>,
    /// When the live token expires.
    pub expires_at: DateTime<Utc>,
}

/// A user's TOTP secret, sealed by the engine's vault. Pending until `enabled_at`.
#[derive(Clone, sqlx::FromRow)]
pub struct UserMfa {
    pub user_id: Uuid,
    pub secret_sealed: Vec<u8>,
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last time step whose code was accepted: a code of it or an earlier step is refused
    /// (no replay).
    pub last_step: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMfa")
            .field("user_id", &self.user_id)
            .field("secret_sealed", &"<sealed>")
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// The second step of a login with MFA: an opaque token (stored as its SHA-256) that a code
/// must follow, within its time and attempts, once.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MfaChallenge {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    /// Codes tried so far (each reserved before it is checked).
    pub attempts: i32,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewMfaChallenge {
    pub id: Uuid,
    pub user_id: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// How failures of a key back off: `free` failures in a row cost nothing; from then on each
/// failure locks the key for `base`, doubling with every further failure up to `max`.
/// Failures are forgotten `forget_after` after the last one (or at a success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub free: u32,
    pub base: std::time::Duration,
    pub max: std::time::Duration,
    pub forget_after: std::time::Duration,
}

impl Backoff {
    /// The lockout after the `failures`-th failure in a row (zero while they are free).
    pub fn lockout(&self, failures: u32) -> std::time::Duration {
        match failures.checked_sub(self.free) {
            None => std::time::Duration::ZERO,
            Some(extra) => self
                .base
                .checked_mul(1u32.checked_shl(extra).unwrap_or(u32::MAX))
                .map_or(self.max, |d| d.min(self.max)),
        }
    }
}

/// An API key: a bearer credential (`amx_…`) with which a program acts as the user who created
/// it, in that user's organization. The row never holds the key: the store keeps its SHA-256
/// hash (`key_hash`, hex), which this model leaves out, so no row read back can show it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub organization_id: Uuid,
    /// The creator, as whom the key acts.
    pub user_id: Uuid,
    pub name: String,
    /// The most the key may do (with its creator's role in the organization as a cap).
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// The first characters of the key, to tell keys apart (`amx_3fK9x2`).
    pub prefix: String,
    /// No expiry when `None`.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was last used to authenticate, to within a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    /// SHA-256 of the key, lower-case hex; unique.
    pub key_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// A single sign-on started and not yet finished: what the callback needs to finish it.
#[derive(Clone, Debug)]
pub struct NewSsoLogin {
    pub id: Uuid,
    /// SHA-256 (hex) of the `state` sent to the identity provider.
    pub state_hash: String,
    /// The PKCE verifier whose S256 challenge was sent.
    pub code_verifier: String,
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, sqlx::FromRow)]
pub struct SsoLogin {
    pub id: Uuid,
    pub state_hash: String,
    pub code_verifier: String,
    pub nonce: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for SsoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoLogin")
            .field("id", &self.id)
            .field("code_verifier", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// An email domain whose verified addresses an organization accepts through single sign-on.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SsoDomain {
    /// Lower-case, without `@`.
    pub domain: String,
    pub organization_id: Uuid,
    /// The role an account gets when single sign-on adds it to the organization.
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A WebSocket ticket to keep: only its hash, and who it lets in.
#[derive(Clone, Debug)]
pub struct NewWsTicket {
    /// SHA-256 (hex) of the ticket.
    pub ticket_hash: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    /// The caller's role when it was issued (for an API key: already capped).
    pub role: Role,
    pub api_key_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Who a redeemed WebSocket ticket lets in.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WsTicket {
    pub user_id: Uuid,
    pub organization_id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub api_key_id: Option<Uuid>,
}
