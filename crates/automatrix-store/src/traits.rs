//! The store traits. Methods are verbs on nouns; tenant methods take the organization id first.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use automatrix_core::{KvAnswer, KvOp, Role};

use crate::StoreResult;
use crate::models::*;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates an organization and its first user, its owner, in one transaction.
    /// `Conflict` when the email is taken.
    async fn create_user_with_organization(&self, new: NewUser) -> StoreResult<User>;
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>>;
    async fn update_user_password(
        &self,
        id: Uuid,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    async fn insert_refresh_token(&self, new: NewRefreshToken) -> StoreResult<()>;
    async fn find_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>>;
    /// Marks an unspent, unrevoked token spent. Returns false when it was already spent or
    /// revoked (so two concurrent refreshes cannot both succeed).
    async fn spend_refresh_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    async fn revoke_refresh_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    async fn revoke_user_refresh_tokens(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Revokes every refresh token of the user except those of the family `keep`.
    async fn revoke_other_refresh_families(
        &self,
        user_id: Uuid,
        keep: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The user's sessions (families with a live token) as of `now`, newest login first.
    async fn list_refresh_sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<RefreshSession>>;
    /// Revokes the family if it is the user's and still has a live token; false otherwise.
    async fn revoke_user_refresh_session(
        &self,
        user_id: Uuid,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Multi-factor authentication: a user's sealed TOTP secret, their recovery codes (SHA-256
/// hashes) and the login challenges waiting for a code. Every "once" here is one conditional
/// statement, so it holds across processes sharing the database.
#[async_trait]
pub trait MfaStore: Send + Sync {
    /// Every user's TOTP secret, pending or enabled (for the master-key rotation).
    async fn list_all_mfa_secrets(&self) -> StoreResult<Vec<UserMfa>>;
    /// Stores a pending secret, replacing a pending one. False (nothing written) when MFA is
    /// enabled for the user.
    async fn put_pending_mfa_secret(
        &self,
        user_id: Uuid,
        secret_sealed: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn get_user_mfa(&self, user_id: Uuid) -> StoreResult<Option<UserMfa>>;
    /// Enables MFA with the pending secret `secret_sealed` (unless another setup replaced it
    /// meanwhile), accepting time step `step`, and replaces the recovery codes; sets the user's
    /// `mfa_enabled`. False (nothing written) when that secret is not pending.
    async fn enable_mfa(
        &self,
        user_id: Uuid,
        secret_sealed: &[u8],
        step: i64,
        recovery_code_hashes: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Accepts a code of time step `step` if MFA is enabled and no code of this or a later
    /// step was accepted before; true once per step.
    async fn accept_totp_step(
        &self,
        user_id: Uuid,
        step: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Spends one unspent recovery code of the user; true once per code.
    async fn spend_recovery_code(
        &self,
        user_id: Uuid,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// How many unspent recovery codes the user has.
    async fn count_recovery_codes(&self, user_id: Uuid) -> StoreResult<u32>;
    /// Turns MFA off: the secret, recovery codes and open challenges go; `mfa_enabled` false.
    async fn disable_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Stores a challenge (and deletes expired ones).
    async fn create_mfa_challenge(&self, new: NewMfaChallenge) -> StoreResult<()>;
    /// Reserves one attempt of the challenge with this hash: the challenge, with the attempt
    /// counted, when it is unspent, unexpired at `now` and had fewer than `max_attempts`;
    /// `None` otherwise.
    async fn attempt_mfa_challenge(
        &self,
        token_hash: &str,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<MfaChallenge>>;
    /// Spends the challenge; true once.
    async fn spend_mfa_challenge(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
}

/// Failure counters shared by every process (the database-backed mode of the login rate
/// limits). Keys are opaque to the store (the caller hashes what they name).
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// An attempt of `key` at `now`: `Err(until)` while the key is locked out; otherwise
    /// counted as a failure under `policy` (which may lock the key), in one transaction that
    /// holds the key's row, so concurrent attempts from any process are counted in full.
    async fn attempt_throttled(
        &self,
        key: &str,
        policy: Backoff,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<(), DateTime<Utc>>>;
    /// Takes back one attempt of `key` that went well; the key is not locked by it.
    async fn forgive_throttled(&self, key: &str, now: DateTime<Utc>) -> StoreResult<()>;
    /// Forgets `key`'s failures.
    async fn reset_throttled(&self, key: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// Inserts the workflow and its version 1 in one transaction.
    async fn create_workflow(&self, new: NewWorkflow) -> StoreResult<Workflow>;
    async fn get_workflow(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Workflow>>;
    /// The workflow whose webhook token is `token`, in any organization: the public
    /// `/hooks/{token}` entry point, where the token is the caller's credential.
    async fn find_webhook(&self, token: &str) -> StoreResult<Option<Workflow>>;
    /// Newest first; `before` is the last id of the previous page.
    async fn list_workflows(
        &self,
        org: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<Workflow>>;
    /// Applies the update; a changed definition bumps `version` and stores the new version row
    /// in the same transaction. `NotFound` for a missing workflow.
    async fn update_workflow(
        &self,
        org: Uuid,
        id: Uuid,
        update: WorkflowUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Workflow>;
    /// Deletes the workflow with its versions, executions, steps and jobs. False if missing.
    async fn delete_workflow(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
    /// Ticks planned at or before `now`, the oldest first, at most `limit`.
    async fn due_ticks(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<ScheduledTick>>;
    /// Takes the tick `tick`: moves the schedule to `next` (`None`: removes it) and, in the
    /// same transaction, creates `fire` (an execution and its job) — only if the schedule is
    /// still at `tick.next_run_at`. False when another scheduler took the tick first (nothing
    /// is written).
    async fn take_tick(
        &self,
        tick: &ScheduledTick,
        next: Option<DateTime<Utc>>,
        fire: Option<NewExecution>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn get_workflow_version(
        &self,
        org: Uuid,
        workflow_id: Uuid,
        version: i64,
    ) -> StoreResult<Option<WorkflowVersion>>;
    /// Newest first.
    async fn list_workflow_versions(
        &self,
        org: Uuid,
        workflow_id: Uuid,
    ) -> StoreResult<Vec<WorkflowVersion>>;
}

#[async_trait]
pub trait ExecutionStore: Send + Sync {
    /// Inserts the execution (status `pending`) and its queue job in one transaction.
    async fn create_execution(&self, new: NewExecution) -> StoreResult<Execution>;
    /// [`create_execution`](Self::create_execution) unless `key` already names an execution
    /// of the same workflow created at or after `fresh_since`; then that one, and nothing is
    /// started. Of concurrent calls with one key, exactly one creates.
    async fn create_execution_once(
        &self,
        new: NewExecution,
        key: &str,
        fresh_since: DateTime<Utc>,
    ) -> StoreResult<CreateOnce>;
    async fn get_execution(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Execution>>;
    /// Newest first, at most `filter.limit` rows.
    async fn list_executions(
        &self,
        org: Uuid,
        filter: &ExecutionFilter,
    ) -> StoreResult<Vec<Execution>>;
    /// Steps of an execution in the order they started.
    async fn list_steps(&self, org: Uuid, execution_id: Uuid) -> StoreResult<Vec<Step>>;
    /// Cancels a pending, running or waiting execution and drops its unclaimed job.
    /// `Ok(None)` when there is no such execution in the organization.
    async fn cancel_execution(
        &self,
        org: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CancelOutcome>>;
    /// Records a decision on the latest attempt of a `waiting` step of a `waiting` execution:
    /// `decision` is stored under `"decision"` in the step's output (which must be an object
    /// without one) and the execution's job becomes due now. `Ok(None)` when there is no such
    /// execution in the organization.
    async fn decide_waiting_step(
        &self,
        org: Uuid,
        execution_id: Uuid,
        node_id: &str,
        decision: serde_json::Value,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DecideOutcome>>;
    /// Makes a failed execution pending again and queues it; its step history stays (completed
    /// steps are reused, the rest run again); the new job's run continues `trace_context` (a
    /// W3C `traceparent`: the retrying request's). `Ok(None)` when there is no such execution.
    async fn retry_execution(
        &self,
        org: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
        trace_context: Option<&str>,
    ) -> StoreResult<Option<RetryOutcome>>;
}

/// What workers use: no organization filter, because a worker serves every tenant; every
/// write is fenced by the job's lease.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Claims a job whose lease expired (its worker died), else the oldest due unleased one.
    /// The claim commits before any work runs.
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<ClaimedJob>>;
    /// [`claim_job`](Self::claim_job) and, where one round trip can do both (SQLite),
    /// [`start_execution`](Self::start_execution) of the claimed job at `now`: what a worker
    /// does to take work. `None` when no job was due. Where the claim must commit on its own
    /// (PostgreSQL: see the lock order in `sql/queue.rs`) the start is [`Start::Later`], so
    /// that the caller starts it off its claim loop.
    async fn claim_next(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<(ClaimedJob, Start)>>;
    /// Extends the lease. `Stale` when the lease was lost to another worker.
    async fn heartbeat_job(&self, job: &ClaimedJob, lease_until: DateTime<Utc>) -> StoreResult<()>;
    /// Loads the execution a job points at.
    async fn load_execution(&self, id: Uuid) -> StoreResult<Option<Execution>>;
    /// Moves `pending` (or an interrupted `running`) to `running`; returns the execution, or
    /// `None` when it is no longer runnable (cancelled, finished).
    async fn start_execution(
        &self,
        job: &ClaimedJob,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Execution>>;
    /// The pinned definition of an execution.
    async fn load_workflow_version(
        &self,
        workflow_id: Uuid,
        version: i64,
    ) -> StoreResult<Option<WorkflowVersion>>;
    async fn load_steps(&self, execution_id: Uuid) -> StoreResult<Vec<Step>>;
    /// The checkpoint: inserts or replaces the step row. `Stale` when the lease was lost.
    /// Returns the execution's status as of the write, so the caller notices a cancel
    /// without another round trip.
    async fn write_step(
        &self,
        job: &ClaimedJob,
        step: StepWrite,
    ) -> StoreResult<automatrix_core::ExecutionStatus>;
    /// [`write_step`](Self::write_step) of each of `steps` (at least one) in order: the
    /// records a run held back, then the one it writes now; one round trip per two steps
    /// where the backend allows it (SQLite). The status is the one after the last.
    async fn write_steps(
        &self,
        job: &ClaimedJob,
        steps: Vec<StepWrite>,
    ) -> StoreResult<automatrix_core::ExecutionStatus>;
    /// Current status (cancellation is checked between steps).
    async fn execution_status(
        &self,
        id: Uuid,
    ) -> StoreResult<Option<automatrix_core::ExecutionStatus>>;
    /// Writes the outcome's steps, records the outcome and deletes the job; one transaction
    /// (on PostgreSQL the steps go first, each on its own). Leaves an execution that was
    /// cancelled meanwhile as it is. `Stale` when the lease was lost.
    async fn finish_execution(
        &self,
        job: &ClaimedJob,
        outcome: ExecutionOutcome,
    ) -> StoreResult<()>;
    /// Puts a running execution to sleep: status `waiting`, the job unleased and due at
    /// `resume_at` (never, when `None`, until a decision makes it due). `Stale` when the lease
    /// was lost.
    async fn suspend_execution(
        &self,
        job: &ClaimedJob,
        resume_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Gives a job back unfinished (graceful shutdown): unleased and due now, so another
    /// worker resumes it at once instead of after the lease expires. `Stale` when lost.
    async fn release_job(&self, job: &ClaimedJob, now: DateTime<Utc>) -> StoreResult<()>;
    /// Deletes a job whose execution needs no more work (e.g. cancelled before it started).
    async fn drop_job(&self, job: &ClaimedJob) -> StoreResult<()>;
    /// How many jobs are due and how many are running at `now` (health and metrics).
    async fn queue_stats(&self, now: DateTime<Utc>) -> StoreResult<crate::QueueStats>;
    /// Subscribes to the [`QueueEvent`](crate::QueueEvent)s of every process sharing the
    /// database: a job became due, an execution was cancelled. Each is sent in the transaction
    /// that caused it, so it arrives only after (and only if) that commits. `Ok(None)` when
    /// the store has no cross-process events (SQLite: one process, whose in-process wake-ups
    /// suffice). Events may be lost; they only spare workers the wait for their next poll.
    async fn subscribe_queue_events(&self) -> StoreResult<Option<crate::QueueEvents>>;
}

/// The organization's credentials (sealed: the store never sees plain data). Names are
/// unique per organization.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// `Conflict` when the organization has a credential of that name.
    async fn create_credential(&self, new: NewCredential) -> StoreResult<Credential>;
    async fn get_credential(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Credential>>;
    /// Sorted by name.
    async fn list_credentials(&self, org: Uuid) -> StoreResult<Vec<Credential>>;
    /// `NotFound` for a missing or foreign id; `Conflict` for a taken name.
    async fn update_credential(
        &self,
        org: Uuid,
        id: Uuid,
        update: CredentialUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Credential>;
    async fn delete_credential(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
    /// Every credential of every organization, by organization and id: for the maintenance
    /// that must see them all (the master-key rotation), never for a tenant's request.
    async fn list_all_credentials(&self) -> StoreResult<Vec<Credential>>;
    /// Replaces sealed values, all in one transaction or none. `Stale` (and nothing written)
    /// when a row no longer holds its `old` value (changed or deleted since it was read), or
    /// when a column the rewrites name has a row they do not cover (added since): a rotation
    /// must leave no value sealed under the old key behind.
    async fn replace_sealed(&self, rewrites: &[SealedRewrite]) -> StoreResult<()>;
}

/// Each workflow's persistent key-value store (`data.kv`). Entries go with their workflow.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// Carries out `op` on the entries of `workflow` as of `now` (an entry past its expiry
    /// counts as absent). Each operation is atomic: concurrent increments all count, and of
    /// concurrent `only_if_absent` sets exactly one stores. `Conflict` when incrementing a
    /// value that is not a number.
    async fn kv(
        &self,
        org: Uuid,
        workflow: Uuid,
        op: KvOp,
        now: DateTime<Utc>,
    ) -> StoreResult<KvAnswer>;
}

/// AI routes, the accounting of AI calls and budgets, per organization. Usage rows outlive
/// the workflow, execution and step they name (no foreign keys there): what was spent stays
/// spent when a workflow is deleted.
#[async_trait]
pub trait AiStore: Send + Sync {
    /// Creates or replaces the route `alias`; `true` when it was created.
    async fn put_ai_route(
        &self,
        org: Uuid,
        alias: &str,
        route: &automatrix_core::ai::Route,
        now: DateTime<Utc>,
    ) -> StoreResult<(AiRouteRow, bool)>;
    async fn get_ai_route(&self, org: Uuid, alias: &str) -> StoreResult<Option<AiRouteRow>>;
    /// Sorted by alias.
    async fn list_ai_routes(&self, org: Uuid) -> StoreResult<Vec<AiRouteRow>>;
    async fn delete_ai_route(&self, org: Uuid, alias: &str) -> StoreResult<bool>;

    async fn record_ai_usage(&self, usage: NewAiUsage) -> StoreResult<()>;
    /// Calls created at or after `since` and before `until`, totalled and grouped.
    async fn ai_usage_report(
        &self,
        org: Uuid,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        group_by: AiUsageGroup,
    ) -> StoreResult<AiUsageReport>;
    /// What the calls created at or after `since` cost, in US dollars (0 without any).
    async fn ai_cost_since(&self, org: Uuid, since: DateTime<Utc>) -> StoreResult<f64>;

    /// Creates or replaces the organization's budget.
    async fn put_ai_budget(
        &self,
        org: Uuid,
        monthly_usd: f64,
        alert_at: f64,
        now: DateTime<Utc>,
    ) -> StoreResult<AiBudget>;
    async fn get_ai_budget(&self, org: Uuid) -> StoreResult<Option<AiBudget>>;
}

/// The dashboard's numbers: an organization's executions and AI calls over a range, counted by
/// the database (nothing per execution is read into memory).
#[async_trait]
pub trait MetricsStore: Send + Sync {
    /// The executions of `org` created in `[query.since, query.until)` (of `query.workflow_id`
    /// only, when given) counted by status, per workflow and per bucket, with nearest-rank run
    /// time percentiles; and the AI calls made in that range. See
    /// [`ExecutionSummary`](crate::ExecutionSummary).
    async fn execution_summary(
        &self,
        org: Uuid,
        query: &SummaryQuery,
    ) -> StoreResult<ExecutionSummary>;
}

/// API keys: bearer credentials with which programs act as a user of an organization. The
/// store keeps each key's SHA-256 hash, never the key. Names are unique per organization.
#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    /// `Conflict` when the organization has a key of that name.
    async fn create_api_key(&self, new: NewApiKey) -> StoreResult<ApiKey>;
    /// Sorted by name.
    async fn list_api_keys(&self, org: Uuid) -> StoreResult<Vec<ApiKey>>;
    async fn delete_api_key(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
    /// The key whose hash is `key_hash`, in any organization (the key is the caller's
    /// credential), expired or not.
    async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>>;
    /// Records a use at `now` (`last_used_at`) unless one at `since` or later is recorded
    /// already; true when it wrote. One conditional statement: of concurrent uses, one writes.
    async fn record_api_key_use(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Everything a process needs from storage.
/// Workflow templates: the built-in ones (no organization, kept by slug) that every
/// organization sees, and each organization's own.
#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Inserts the built-in templates, or replaces those with the same slug (their ids stay):
    /// loading them again at every start changes nothing else.
    async fn upsert_builtin_templates(
        &self,
        specs: &[automatrix_core::template::TemplateSpec],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The built-in templates and `org`'s own, by category and name.
    async fn list_templates(&self, org: Uuid) -> StoreResult<Vec<TemplateRow>>;
    /// A built-in template or one of `org`'s.
    async fn get_template(&self, org: Uuid, id: Uuid) -> StoreResult<Option<TemplateRow>>;
    async fn create_template(&self, new: NewTemplate) -> StoreResult<TemplateRow>;
    /// Replaces one of `org`'s own templates (`None`: no such template of `org`'s).
    async fn update_template(
        &self,
        org: Uuid,
        id: Uuid,
        spec: &automatrix_core::template::TemplateSpec,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TemplateRow>>;
    /// Deletes one of `org`'s own templates; `false` when there is none.
    async fn delete_template(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
}

/// Organizations, their members and invitations. Access decisions read
/// [`member_access`](OrgStore::member_access); the rest serves the member-management routes.
#[async_trait]
pub trait OrgStore: Send + Sync {
    /// Creates an organization with `new.owner` as its owner, in one transaction.
    async fn create_organization(&self, new: NewOrganization) -> StoreResult<Organization>;
    async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>>;
    /// `NotFound` when there is no such organization.
    async fn update_organization(
        &self,
        id: Uuid,
        update: OrganizationUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<Organization>;
    /// The organizations `user` belongs to, oldest membership first, with their role.
    async fn list_user_organizations(&self, user: Uuid) -> StoreResult<Vec<UserOrganization>>;
    /// `user`'s role in `org`, or in their first organization (oldest membership) when `org`
    /// is `None`; `None` when they are not a member (or belong nowhere).
    async fn member_access(
        &self,
        user: Uuid,
        org: Option<Uuid>,
    ) -> StoreResult<Option<MemberAccess>>;
    /// Members by join date.
    async fn list_members(&self, org: Uuid) -> StoreResult<Vec<Member>>;
    async fn get_member(&self, org: Uuid, user: Uuid) -> StoreResult<Option<Member>>;
    /// `Conflict` when `user` is already a member.
    async fn add_member(
        &self,
        org: Uuid,
        user: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<Member>;
    /// Changes a member's role, unless that leaves the organization without an owner
    /// (checked under a lock on the organization, so two owners cannot demote each other).
    async fn set_member_role(
        &self,
        org: Uuid,
        user: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<MemberChange>;
    /// Removes a member, unless they are its last owner (checked as above). Their API keys in
    /// the organization go with them.
    async fn remove_member(&self, org: Uuid, user: Uuid) -> StoreResult<MemberChange>;
    async fn create_invitation(&self, new: NewInvitation) -> StoreResult<Invitation>;
    /// Invitations neither accepted nor expired at `now`, newest first.
    async fn list_invitations(&self, org: Uuid, now: DateTime<Utc>)
    -> StoreResult<Vec<Invitation>>;
    /// Withdraws an invitation; `false` when `org` has no such invitation.
    async fn delete_invitation(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
    async fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>>;
    /// Accepts an open invitation for an existing account: spends it and makes `user` a member
    /// with its role (a member already keeps their role), in one transaction. `false` when the
    /// invitation was accepted or expired meanwhile.
    async fn accept_invitation(
        &self,
        id: Uuid,
        user: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Accepts an open invitation by creating the account it was sent to, a member of the
    /// inviting organization. `None` when the invitation was accepted or expired meanwhile;
    /// `Conflict` when the email has an account.
    async fn accept_invitation_as_new_user(
        &self,
        id: Uuid,
        user: InvitedUser,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>>;
}

/// The audit log: appended to, listed; never changed.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends `entry` (its `id` a fresh UUIDv7, `created_at` its time).
    async fn record_audit(&self, entry: AuditEntry) -> StoreResult<()>;
    /// `org`'s entries and its members' account entries, newest first.
    async fn list_audit(&self, org: Uuid, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
}

/// Real time: one-use WebSocket tickets, and live events (step and execution updates,
/// notifications) published by one process and heard by every API process.
#[async_trait]
pub trait LiveStore: Send + Sync {
    /// Keeps a ticket (and forgets the expired ones).
    async fn create_ws_ticket(&self, new: NewWsTicket) -> StoreResult<()>;
    /// Spends the unexpired ticket with this hash and says whom it lets in; `None` when there
    /// is none, it expired or it was spent (a ticket works once, even when two sockets race).
    async fn redeem_ws_ticket(
        &self,
        ticket_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WsTicket>>;
    /// Whether other processes may share the database and hear live events (PostgreSQL);
    /// `false` where one process is all there is (SQLite).
    fn shares_live_events(&self) -> bool;
    /// Sends `payload` (under 8,000 bytes) to the subscribers of every process sharing the
    /// database, this one included; `false` when the store has no other processes to tell
    /// (SQLite), and nothing was sent.
    async fn publish_live_events(&self, payload: &str) -> StoreResult<bool>;
    /// Subscribes to what [`publish_live_events`](Self::publish_live_events) sends, from any
    /// process; `None` where there is no such channel (SQLite).
    async fn subscribe_live_events(&self) -> StoreResult<Option<crate::LiveEvents>>;
}

/// Single sign-on: sign-ins in flight and the email domains organizations accept.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// Records a started sign-in (and forgets the expired ones).
    async fn create_sso_login(&self, new: NewSsoLogin) -> StoreResult<()>;
    /// Spends the open, unexpired sign-in with this state hash and returns it; `None` when
    /// there is none, it expired or it was spent (a state works once, even when two callbacks
    /// race).
    async fn spend_sso_login(
        &self,
        state_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SsoLogin>>;
    /// `org`'s domains, alphabetically.
    async fn list_sso_domains(&self, org: Uuid) -> StoreResult<Vec<SsoDomain>>;
    /// Replaces `org`'s domains with `domains` (lower-case), all with `role`, in one
    /// transaction. `Conflict` naming the domain when another organization has one.
    async fn set_sso_domains(
        &self,
        org: Uuid,
        domains: &[String],
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SsoDomain>>;
    async fn find_sso_domain(&self, domain: &str) -> StoreResult<Option<SsoDomain>>;
    /// Creates an account in `org` (its `organization_id`) as a member with `role`, in one
    /// transaction. `Conflict` when the email is taken.
    async fn create_sso_user(
        &self,
        org: Uuid,
        role: Role,
        user: InvitedUser,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;
    /// Adds `user` to `org` with `role` unless already a member (whose role then stays);
    /// whether they were added.
    async fn join_organization(
        &self,
        org: Uuid,
        user: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait Store:
    UserStore
    + MfaStore
    + ThrottleStore
    + WorkflowStore
    + ExecutionStore
    + QueueStore
    + CredentialStore
    + KvStore
    + AiStore
    + MetricsStore
    + ApiKeyStore
    + TemplateStore
    + OrgStore
    + AuditStore
    + SsoStore
    + LiveStore
    + Send
    + Sync
{
    /// Round-trips to the database (readiness probe).
    async fn ping(&self) -> StoreResult<()>;
    /// Which database this is: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Deletes up to `batch` finished (completed, failed, cancelled) executions that finished
    /// before `finished_before`, with their step logs; returns how many went.
    async fn prune_executions(
        &self,
        finished_before: DateTime<Utc>,
        batch: u32,
    ) -> StoreResult<u64>;
    /// Gives the space of deleted rows back to the file system where the database does not do
    /// that by itself (SQLite's incremental vacuum).
    async fn reclaim_space(&self) -> StoreResult<()>;
}
