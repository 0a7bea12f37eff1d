//! Row models (`<Thing>`) and insert models (`New<Thing>`). Rows derive `sqlx::FromRow` and
//! decode the same on SQLite and PostgreSQL: ids are UUIDs, timestamps UTC, JSON as `Json`.

use automatrix_core::{ExecutionStatus, Role, StepStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
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
    pub role: automatrix_core::Role,
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
    pub role: automatrix_core::Role,
    pub prefix: String,
    /// SHA-256 of the key, lower-case hex; unique.
    pub key_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Workflow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    pub definition: Json<Value>,
    pub version: i64,
    pub is_active: bool,
    /// Token of the public `/hooks/{token}` URL when the trigger is a webhook.
    pub webhook_token: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewWorkflow {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    pub definition: Value,
    pub is_active: bool,
    pub webhook_token: Option<String>,
    /// The first tick when the trigger is a schedule; planned only while the workflow is
    /// active.
    pub next_tick: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub now: DateTime<Utc>,
}

/// A change to a workflow; `None` leaves a field as it is. A changed definition stores a new
/// immutable version.
#[derive(Clone, Debug, Default)]
pub struct WorkflowUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub definition: Option<Value>,
    pub is_active: Option<bool>,
    /// `Some(None)` clears the webhook token.
    pub webhook_token: Option<Option<String>>,
    /// Replans the schedule: `Some(Some(tick))` plans `tick` if the workflow is active after
    /// the update (else removes the schedule); `Some(None)` removes it; `None` leaves it.
    pub next_tick: Option<Option<DateTime<Utc>>>,
    pub updated_by: Option<Uuid>,
    /// Recorded on the new version, if the definition changes: the version it restores.
    pub restored_from: Option<i64>,
}

/// The next tick of a workflow whose trigger is a schedule.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ScheduledTick {
    pub workflow_id: Uuid,
    pub organization_id: Uuid,
    pub next_run_at: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct WorkflowVersion {
    pub workflow_id: Uuid,
    pub organization_id: Uuid,
    pub version: i64,
    pub definition: Json<Value>,
    pub created_by: Option<Uuid>,
    /// The version this one restored (`POST …/versions/{v}/restore`); null otherwise.
    pub restored_from: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Execution {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_version: i64,
    #[sqlx(try_from = "String")]
    pub status: ExecutionStatus,
    pub input_data: Json<Value>,
    pub output_data: Option<Json<Value>>,
    pub error_message: Option<String>,
    pub dry_run: bool,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new execution; creating it also enqueues its job in the same transaction.
#[derive(Clone, Debug)]
pub struct NewExecution {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub workflow_id: Uuid,
    pub workflow_version: i64,
    pub input: Value,
    pub dry_run: bool,
    pub now: DateTime<Utc>,
    /// Created running, its job leased to its creator, who runs it at once (a webhook
    /// answered on completion) instead of queueing it; a crash leaves the job to be reclaimed
    /// when the lease expires, like any other.
    pub lease: Option<NewLease>,
}

/// The lease an execution's creator takes on its job ([`NewExecution::lease`]).
#[derive(Clone, Debug)]
pub struct NewLease {
    pub job_id: Uuid,
    pub worker: String,
    pub token: Uuid,
    pub until: DateTime<Utc>,
}

impl NewExecution {
    /// The job as its creator holds it, when created with a [`lease`](Self::lease).
    pub fn claimed_job(&self) -> Option<ClaimedJob> {
        self.lease.as_ref().map(|lease| ClaimedJob {
            id: lease.job_id,
            execution_id: self.id,
            organization_id: self.organization_id,
            lease_token: lease.token,
            locked_until: lease.until,
            claims: 1,
        })
    }
}

/// What [`create_execution_once`](crate::ExecutionStore::create_execution_once) did.
#[derive(Clone, Debug)]
pub enum CreateOnce {
    /// A new execution (and its job); the key now names it.
    Created(Execution),
    /// The key is fresh and names this execution: nothing was started.
    Existing(Execution),
}

/// Filters and keyset pagination for listing executions (newest first).
#[derive(Clone, Debug, Default)]
pub struct ExecutionFilter {
    pub status: Option<ExecutionStatus>,
    pub workflow_id: Option<Uuid>,
    /// `created_at >= since`
    pub since: Option<DateTime<Utc>>,
    /// `created_at < until`
    pub until: Option<DateTime<Utc>>,
    /// Only executions with an id below this one (the last id of the previous page).
    pub before: Option<Uuid>,
    /// Only dry runs (`true`) or only real runs (`false`).
    pub dry_run: Option<bool>,
    pub limit: u32,
}

/// How an execution ended.
#[derive(Clone, Debug)]
pub struct ExecutionOutcome {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub now: DateTime<Utc>,
    /// Steps to write first, in the same transaction where the backend allows it (SQLite):
    /// the completions the run held back because nothing ran after them.
    pub steps: Vec<StepWrite>,
    /// An execution to start in the same transaction (the workflow's error workflow).
    pub follow_up: Option<NewExecution>,
}

/// Result of deciding a waiting step (an approval).
#[derive(Clone, Debug)]
pub enum DecideOutcome {
    /// The decision is recorded and the execution is due again.
    Decided(Execution),
    /// The step is not waiting for a decision (never was, or already decided).
    NotWaiting(Execution),
}

/// Result of a retry request.
#[derive(Clone, Debug)]
pub enum RetryOutcome {
    /// The execution is pending again and queued.
    Retried(Execution),
    /// Only failed executions can be retried.
    NotFailed(Execution),
}

/// Result of a cancel request.
#[derive(Clone, Debug)]
pub enum CancelOutcome {
    Cancelled(Execution),
    /// Already completed, failed or cancelled: nothing changed.
    AlreadyFinished(Execution),
}

/// A step log row: one per node per execution, updated as the step moves on.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Step {
    pub execution_id: Uuid,
    pub organization_id: Uuid,
    pub node_id: String,
    pub node_type: String,
    #[sqlx(try_from = "String")]
    pub status: StepStatus,
    pub attempt: i64,
    pub input_data: Option<Json<Value>>,
    pub output_data: Option<Json<Value>>,
    /// The port a completed step emitted on.
    pub output_port: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The full state of a step, written (inserted or replaced) at each checkpoint.
#[derive(Clone, Debug)]
pub struct StepWrite {
    pub execution_id: Uuid,
    pub organization_id: Uuid,
    pub node_id: String,
    pub node_type: String,
    pub status: StepStatus,
    pub attempt: i64,
    pub input_data: Option<Value>,
    pub output_data: Option<Value>,
    pub output_port: Option<String>,
    pub error_message: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub now: DateTime<Utc>,
}

/// What [`claim_next`](crate::QueueStore::claim_next) did about the claimed job's execution.
#[derive(Clone, Debug)]
pub enum Start {
    /// Started: it is `running` now.
    Started(Execution),
    /// No longer runnable (finished or cancelled): the caller drops the job.
    NotRunnable,
    /// Not started in the same round trip (PostgreSQL, where the claim commits on its own):
    /// the caller calls [`start_execution`](crate::QueueStore::start_execution).
    Later,
}

/// A job a worker holds. `lease_token` fences every later write: once the lease has expired
/// and another worker claimed the job, the old holder's writes are refused.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub execution_id: Uuid,
    pub organization_id: Uuid,
    pub lease_token: Uuid,
    pub locked_until: DateTime<Utc>,
    /// How many times the job has been claimed (1 on the first claim).
    pub claims: i64,
}

/// A stored credential. `sealed` is its data encrypted by the engine's vault (nonce and
/// ciphertext); the store never sees the plain data.
#[derive(Clone, sqlx::FromRow)]
pub struct Credential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub kind: String,
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("sealed", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewCredential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub kind: String,
    pub sealed: Vec<u8>,
    pub now: DateTime<Utc>,
}

/// A change to a credential; `None` leaves a field as it is. The type never changes.
#[derive(Clone, Default)]
pub struct CredentialUpdate {
    pub name: Option<String>,
    pub sealed: Option<Vec<u8>>,
}

/// A column whose values are sealed under the master secret. Each names fixed SQL (see
/// `sql/credentials.rs`); another sealed column (a user's TOTP secret) is one more variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedColumn {
    /// `credentials.sealed`: an organization's credential data.
    CredentialData,
    /// `user_mfa.secret_sealed`: a user's TOTP secret (the row id is the user's).
    MfaSecret,
}

/// One sealed value replaced by the master-key rotation: the row `id` of `column` held `old`
/// when it was read and gets `new`. `Debug` shows neither value.
#[derive(Clone)]
pub struct SealedRewrite {
    pub column: SealedColumn,
    pub id: Uuid,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

impl std::fmt::Debug for SealedRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRewrite")
            .field("column", &self.column)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A stored AI route: what `alias` stands for in an organization.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AiRouteRow {
    pub organization_id: Uuid,
    pub alias: String,
    pub definition: Json<automatrix_core::ai::Route>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an AI call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiCallStatus {
    Ok,
    Error,
}

impl AiCallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// One AI call to account for. `workflow_id`, `execution_id` and `node_id` are `None` for
/// calls from outside a workflow (the OpenAI-compatible proxy).
#[derive(Clone, Debug)]
pub struct NewAiUsage {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub workflow_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub node_id: Option<String>,
    /// The route alias the call was made through.
    pub route: String,
    /// The provider's credential type (`openai`, `anthropic`, ..., `mock`).
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i64,
    pub cost_usd: f64,
    pub status: AiCallStatus,
    pub created_at: DateTime<Utc>,
}

/// What an AI usage report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiUsageGroup {
    /// The UTC calendar day, `YYYY-MM-DD`.
    Day,
    /// The provider's model name.
    Model,
    /// The workflow id; [`AI_USAGE_NO_WORKFLOW`] for calls outside any workflow.
    Workflow,
}

/// The key under [`AiUsageGroup::Workflow`] of calls made outside any workflow (the proxy).
pub const AI_USAGE_NO_WORKFLOW: &str = "none";

/// Totals of one group of an [`AiUsageReport`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AiUsageItem {
    pub key: String,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
}

/// AI usage of an organization in a time window: the totals and one item per group, ordered
/// by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AiUsageReport {
    pub total_cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
    pub items: Vec<AiUsageItem>,
}

/// An organization's monthly AI budget.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AiBudget {
    pub organization_id: Uuid,
    /// US dollars per UTC calendar month.
    pub monthly_usd: f64,
    /// The share of `monthly_usd` (0 to 1) from which the budget is reported as alerting.
    pub alert_at: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored template: a built-in one (no organization, a slug) or an organization's own.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub slug: Option<String>,
    pub name: String,
    pub category: String,
    pub spec: Json<automatrix_core::template::TemplateSpec>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TemplateRow {
    /// Built-in templates ship with the binary and cannot be changed through the API.
    pub fn builtin(&self) -> bool {
        self.organization_id.is_none()
    }
}

/// An organization's own template to insert.
#[derive(Clone, Debug)]
pub struct NewTemplate {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by: Option<Uuid>,
    pub spec: automatrix_core::template::TemplateSpec,
    pub now: DateTime<Utc>,
}

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
