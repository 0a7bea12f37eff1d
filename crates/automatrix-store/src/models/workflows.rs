//! Workflows, their versions and schedules, executions, steps and queue jobs.

use automatrix_core::{ExecutionStatus, StepStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

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
    /// The `X-Request-Id` of the HTTP request that created it (or the run that started it:
    /// a sub-workflow, an error workflow); `None` for scheduled runs.
    pub request_id: Option<String>,
}

/// Where a new execution comes from, for logs and traces.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The id of the HTTP request that starts it ([`Execution::request_id`]).
    pub request_id: Option<String>,
    /// The W3C `traceparent` of the span that queues it, stored with its job: the worker's
    /// span of the run continues that trace.
    pub trace_context: Option<String>,
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
    pub origin: Origin,
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
            trace_context: self.origin.trace_context.clone(),
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
    /// Started: it is `running` now (boxed: an execution is large, the other variants empty).
    Started(Box<Execution>),
    /// No longer runnable (finished or cancelled): the caller drops the job.
    NotRunnable,
    /// Not started in the same round trip (PostgreSQL, where the claim commits on its own):
    /// the caller calls [`start_execution`](crate::QueueStore::start_execution).
    Later,
}

/// What the job queue holds at an instant, across every process sharing the database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Jobs due and not held by a worker: never claimed and due, or left by a worker whose
    /// lease expired. (Waiting executions whose time has not come are not counted.)
    pub due: u64,
    /// Jobs a worker holds under a live lease: executions running now.
    pub running: u64,
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
    /// The W3C `traceparent` its run continues ([`Origin::trace_context`]).
    pub trace_context: Option<String>,
}
