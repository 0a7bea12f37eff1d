//! The [`Engine`] facade: the workflow and execution rules the API (and the CLI) call. Keeping
//! them here means a handler only extracts, calls and maps.

use std::sync::Arc;

use automatrix_core::definition::raw_nodes;
use automatrix_core::expr::Expressions;
use automatrix_core::{NodeRegistry, Problem, StepStatus, ValidatedWorkflow, validate_definition};
use automatrix_store::{
    CancelOutcome, CreateOnce, DecideOutcome, Execution, NewExecution, NewWorkflow, Origin,
    QueueStats, RetryOutcome, Store, Workflow, WorkflowUpdate,
};
use chrono::Utc;
use rand::RngCore;
use serde_json::Value;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cache::DefinitionCache;
use crate::cancel::CancelRegistry;
use crate::error::EngineError;
use crate::executor::{Executor, ExecutorConfig};
use crate::finished::{Finished, next_hint};
use crate::here::RunsHere;
use crate::job::Ended;
use crate::live::{ExecutionEvent, LiveBus, LiveEvent};
use crate::metrics::{Metrics, MetricsSnapshot};
use crate::scheduler::next_tick;
use crate::vault::Vault;
use crate::webhooks::WebhookCache;
use crate::worker::{Worker, WorkerConfig};

/// What [`Engine::wait_for_answer`] found.
#[derive(Clone, Debug)]
pub enum Awaited {
    /// A step that answers webhooks completed: its output, `{status, body, headers}`.
    Responded(Value),
    /// The execution finished without such an answer.
    Finished(Ended),
    /// The time was up first.
    Pending,
}

/// How long a look at the queue for health and metrics may take: a database that does not
/// answer must not hold a probe or a scrape for the pool's whole acquire timeout.
pub const QUEUE_LOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long an `Idempotency-Key` names the execution it started.
pub const IDEMPOTENCY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    executor: Executor,
    cache: DefinitionCache,
    cancels: CancelRegistry,
    wake: Arc<Notify>,
    finished: Finished,
    runs_here: Arc<std::sync::OnceLock<RunsHere>>,
    webhooks: WebhookCache,
    pub(crate) vault: Vault,
    live: LiveBus,
    metrics: Metrics,
}

/// A workflow to create.
#[derive(Clone, Debug)]
pub struct NewWorkflowRequest {
    pub name: String,
    pub description: String,
    pub definition: Value,
    pub is_active: bool,
}

/// An approval decision.
#[derive(Clone, Debug)]
pub struct Decision {
    pub approved: bool,
    /// Becomes the step's output when approved; attached to the error when rejected.
    pub data: Value,
    pub decided_by: Option<Uuid>,
}

/// A change to a workflow; `None` leaves the field alone.
#[derive(Clone, Debug, Default)]
pub struct WorkflowChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub definition: Option<Value>,
    pub is_active: Option<bool>,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<NodeRegistry>,
        expressions: Expressions,
        config: ExecutorConfig,
        vault: Vault,
    ) -> Self {
        Self {
            live: LiveBus::new(store.clone()),
            store,
            executor: Executor::new(registry, expressions, config),
            cache: DefinitionCache::default(),
            cancels: CancelRegistry::default(),
            wake: Arc::new(Notify::new()),
            finished: Finished::default(),
            runs_here: Arc::default(),
            webhooks: WebhookCache::default(),
            vault,
            metrics: Metrics::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The process's live events (WebSockets subscribe here).
    pub fn live(&self) -> &LiveBus {
        &self.live
    }

    /// This engine's metrics (its workers' and, through the API, its server's).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// [`Metrics::snapshot`] after a fresh look at the queue (`None` in it when the database
    /// does not answer).
    pub async fn metrics_snapshot(&self) -> MetricsSnapshot {
        self.observe_queue().await;
        self.metrics.snapshot()
    }

    /// Reads the queue's counts into the metrics (at most [`QUEUE_LOOK_TIMEOUT`] long), and
    /// returns them; `None` when the database did not answer in time.
    pub async fn observe_queue(&self) -> Option<QueueStats> {
        let look = self.store.queue_stats(Utc::now());
        let stats = match tokio::time::timeout(QUEUE_LOOK_TIMEOUT, look).await {
            Ok(Ok(stats)) => Some(stats),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "the queue could not be counted");
                None
            }
            Err(_) => None,
        };
        self.metrics.observe_queue(stats);
        stats
    }

    pub fn registry(&self) -> &Arc<NodeRegistry> {
        self.executor.registry()
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// A worker sharing this engine's caches, cancel registry and wake-ups.
    pub fn worker(&self, id: impl Into<String>, config: WorkerConfig) -> Worker {
        Worker {
            id: id.into(),
            store: self.store.clone(),
            executor: self.executor.clone(),
            cache: self.cache.clone(),
            cancels: self.cancels.clone(),
            wake: self.wake.clone(),
            finished: self.finished.clone(),
            live: self.live.clone(),
            config,
            interrupt: CancellationToken::new(),
            tasks: tokio_util::task::TaskTracker::new(),
            vault: self.vault.clone(),
            metrics: self.metrics.clone(),
        }
    }

    pub fn validate(&self, definition: &Value) -> Result<ValidatedWorkflow, Vec<Problem>> {
        validate_definition(definition, self.registry())
    }

    /// Every problem saving `definition` in `org` would be refused for (the canvas's live
    /// validation): the definition's own, then its error workflow's.
    pub async fn check_definition(
        &self,
        org: Uuid,
        definition: &Value,
    ) -> Result<Vec<Problem>, EngineError> {
        let validated = match self.validate(definition) {
            Ok(v) => v,
            Err(problems) => return Ok(problems),
        };
        match self.check_error_workflow(org, &validated).await {
            Ok(()) => Ok(Vec::new()),
            Err(EngineError::Invalid(problems)) => Ok(problems),
            Err(e) => Err(e),
        }
    }

    pub async fn create_workflow(
        &self,
        org: Uuid,
        user: Option<Uuid>,
        req: NewWorkflowRequest,
    ) -> Result<Workflow, EngineError> {
        let validated = self
            .validate(&req.definition)
            .map_err(EngineError::Invalid)?;
        self.check_error_workflow(org, &validated).await?;
        let now = Utc::now();
        let first_tick = next_tick(&req.definition, now);
        let new = NewWorkflow {
            id: Uuid::now_v7(),
            organization_id: org,
            name: req.name,
            description: req.description,
            definition: req.definition,
            is_active: req.is_active,
            webhook_token: self.webhook_token_for(&validated, None),
            next_tick: first_tick,
            created_by: user,
            now,
        };
        Ok(self.store.create_workflow(new).await?)
    }

    pub async fn update_workflow(
        &self,
        org: Uuid,
        id: Uuid,
        user: Option<Uuid>,
        change: WorkflowChange,
    ) -> Result<Workflow, EngineError> {
        self.change_workflow(org, id, user, change, None).await
    }

    /// [`update_workflow`](Self::update_workflow), recording on the new version (if the
    /// definition changes) that it restores version `restored_from`.
    pub(crate) async fn change_workflow(
        &self,
        org: Uuid,
        id: Uuid,
        user: Option<Uuid>,
        change: WorkflowChange,
        restored_from: Option<i64>,
    ) -> Result<Workflow, EngineError> {
        let current = self
            .store
            .get_workflow(org, id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let mut update = WorkflowUpdate {
            name: change.name,
            description: change.description,
            is_active: change.is_active,
            updated_by: user,
            restored_from,
            ..WorkflowUpdate::default()
        };
        let now = Utc::now();
        let activation = change.is_active.is_some_and(|a| a != current.is_active);
        let mut replan = activation;
        if let Some(definition) = change.definition {
            let validated = self.validate(&definition).map_err(EngineError::Invalid)?;
            self.check_error_workflow(org, &validated).await?;
            let token = self.webhook_token_for(&validated, current.webhook_token.clone());
            if token != current.webhook_token {
                update.webhook_token = Some(token);
            }
            replan |= definition != current.definition.0;
            update.definition = Some(definition);
        }
        // A schedule starts over from now when it changes or the workflow is switched on or
        // off; any other change leaves a tick that is due alone.
        if replan {
            let definition = update.definition.as_ref().unwrap_or(&current.definition.0);
            update.next_tick = Some(next_tick(definition, now));
        }
        let updated = self.store.update_workflow(org, id, update, now).await;
        self.webhooks.forget(id);
        updated.map_err(not_found)
    }

    /// Deletes a workflow with its versions and executions. False when there was none.
    pub async fn delete_workflow(&self, org: Uuid, id: Uuid) -> Result<bool, EngineError> {
        let deleted = self.store.delete_workflow(org, id).await;
        self.webhooks.forget(id);
        Ok(deleted?)
    }

    /// The workflow whose webhook token is `token`, in any organization (the token is the
    /// credential). A lookup is reused for up to a second
    /// ([`FRESH_FOR`](crate::webhooks::FRESH_FOR)); this engine's own changes apply at once.
    pub async fn find_webhook(&self, token: &str) -> Result<Option<Arc<Workflow>>, EngineError> {
        let now = std::time::Instant::now();
        if let Some(found) = self.webhooks.get(token, now) {
            return Ok(found);
        }
        let found = self.store.find_webhook(token).await?.map(Arc::new);
        self.webhooks.insert(token, found.clone(), now);
        Ok(found)
    }

    /// Creates an execution of the workflow's current version and its job in one
    /// transaction, then wakes a worker. A `dry_run` execution runs every step with
    /// `NodeContext::dry_run`: nodes with side effects preview them instead of acting.
    pub async fn execute(
        &self,
        org: Uuid,
        workflow_id: Uuid,
        input: Value,
        dry_run: bool,
        origin: Origin,
    ) -> Result<Execution, EngineError> {
        let workflow = self
            .store
            .get_workflow(org, workflow_id)
            .await?
            .ok_or(EngineError::NotFound)?;
        let new = NewExecution {
            dry_run,
            ..queued_execution(&workflow, input, Utc::now(), origin)
        };
        let (execution, _) = self.start(new, None).await?;
        Ok(execution)
    }

    /// Starts `workflow`'s current version with `input` (a webhook call), at most once per
    /// `idempotency_key` within [`IDEMPOTENCY_WINDOW`]: a repeat gets the first execution and
    /// `false`. Never a dry run: only an explicit execute asks for one.
    pub async fn start_workflow(
        &self,
        workflow: &Workflow,
        input: Value,
        idempotency_key: Option<&str>,
        origin: Origin,
    ) -> Result<(Execution, bool), EngineError> {
        let new = queued_execution(workflow, input, Utc::now(), origin);
        self.start(new, idempotency_key).await
    }

    /// Creates `new` (see [`Self::create_execution`]) and wakes a worker when it is new.
    async fn start(
        &self,
        new: NewExecution,
        idempotency_key: Option<&str>,
    ) -> Result<(Execution, bool), EngineError> {
        let (execution, created) = self.create_execution(new, idempotency_key).await?;
        if created {
            self.wake_worker();
            self.announce(&execution);
        }
        Ok((execution, created))
    }

    /// Creates `new`, at most once per `idempotency_key` within [`IDEMPOTENCY_WINDOW`]: a
    /// repeat gets the first execution and `false`.
    pub(crate) async fn create_execution(
        &self,
        new: NewExecution,
        idempotency_key: Option<&str>,
    ) -> Result<(Execution, bool), EngineError> {
        let Some(key) = idempotency_key else {
            return Ok((self.store.create_execution(new).await?, true));
        };
        let fresh_since = new.now - IDEMPOTENCY_WINDOW;
        Ok(
            match self
                .store
                .create_execution_once(new, key, fresh_since)
                .await?
            {
                CreateOnce::Created(e) => (e, true),
                CreateOnce::Existing(e) => (e, false),
            },
        )
    }

    /// What [`run_here`](Self::run_here) set.
    pub(crate) fn runs_here(&self) -> &std::sync::OnceLock<RunsHere> {
        &self.runs_here
    }

    /// Tells the watchers of `execution` the state it is in now.
    fn announce(&self, execution: &Execution) {
        self.live
            .publish(LiveEvent::Execution(ExecutionEvent::of(execution)));
    }

    /// Wakes a worker of this process waiting for work.
    pub(crate) fn wake_worker(&self) {
        self.wake.notify_one();
    }

    /// Waits for what a webhook caller gets: the output of a step that answers webhooks, if
    /// `look_for_answer` (the workflow has such a node), else the finished execution; or
    /// [`Awaited::Pending`] when `timeout` passed first. Wakes when a worker of this process
    /// announces the execution, and re-reads the store every 250 ms besides.
    pub async fn wait_for_answer(
        &self,
        org: Uuid,
        id: Uuid,
        look_for_answer: bool,
        timeout: std::time::Duration,
    ) -> Result<Awaited, EngineError> {
        // Subscribed before the first read: an announcement after it is not missed.
        let mut announcements = self.finished.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let execution = self
                .store
                .get_execution(org, id)
                .await?
                .ok_or(EngineError::NotFound)?;
            if look_for_answer && let Some(answer) = self.answer_of(org, id).await? {
                return Ok(Awaited::Responded(answer));
            }
            if execution.status.is_terminal() {
                return Ok(Awaited::Finished(Ended {
                    status: execution.status,
                    output: execution.output_data.map(|o| o.0),
                }));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok(Awaited::Pending);
            }
            next_hint(&mut announcements, id, left).await;
        }
    }

    /// The output of the latest completed step that answers webhooks.
    async fn answer_of(&self, org: Uuid, id: Uuid) -> Result<Option<Value>, EngineError> {
        let registry = self.registry();
        let answers = |kind: &str| registry.get(kind).is_some_and(|n| n.spec.answers_webhook);
        Ok(self
            .store
            .list_steps(org, id)
            .await?
            .into_iter()
            .rev()
            .find(|s| s.status == StepStatus::Completed && answers(&s.node_type))
            .and_then(|s| s.output_data.map(|o| o.0)))
    }

    /// Whether a definition has a node that answers webhooks.
    pub fn answers_webhooks(&self, definition: &Value) -> bool {
        let registry = self.registry();
        raw_nodes(definition).any(|n| {
            n["type"]
                .as_str()
                .and_then(|kind| registry.get(kind))
                .is_some_and(|r| r.spec.answers_webhook)
        })
    }

    /// Cancels an execution; a running one stops its in-flight steps at once when it runs in
    /// this process, or in another one that hears the store's queue events (PostgreSQL);
    /// otherwise at its next checkpoint.
    pub async fn cancel(&self, org: Uuid, id: Uuid) -> Result<Execution, EngineError> {
        match self.store.cancel_execution(org, id, Utc::now()).await? {
            None => Err(EngineError::NotFound),
            Some(CancelOutcome::AlreadyFinished(e)) => Err(EngineError::Conflict(format!(
                "execution is already {}",
                e.status
            ))),
            Some(CancelOutcome::Cancelled(e)) => {
                self.cancels.cancel(id);
                self.announce(&e);
                Ok(e)
            }
        }
    }

    /// Records an approval decision on a waiting step and wakes a worker to resume the
    /// execution. `Conflict` when the step is not waiting for a decision.
    pub async fn decide(
        &self,
        org: Uuid,
        execution_id: Uuid,
        node_id: &str,
        decision: Decision,
    ) -> Result<Execution, EngineError> {
        let now = Utc::now();
        let record = serde_json::json!({
            "approved": decision.approved,
            "data": decision.data,
            "decided_by": decision.decided_by,
            "decided_at": now,
        });
        match self
            .store
            .decide_waiting_step(org, execution_id, node_id, record, now)
            .await?
        {
            None => Err(EngineError::NotFound),
            Some(DecideOutcome::NotWaiting(_)) => Err(EngineError::Conflict(format!(
                "step `{node_id}` is not waiting for a decision"
            ))),
            Some(DecideOutcome::Decided(e)) => {
                self.wake.notify_one();
                self.announce(&e);
                Ok(e)
            }
        }
    }

    /// Re-runs a failed execution from its failed steps, reusing what completed; the run
    /// continues `trace_context` (a `traceparent`).
    pub async fn retry(
        &self,
        org: Uuid,
        id: Uuid,
        trace_context: Option<&str>,
    ) -> Result<Execution, EngineError> {
        match self
            .store
            .retry_execution(org, id, Utc::now(), trace_context)
            .await?
        {
            None => Err(EngineError::NotFound),
            Some(RetryOutcome::NotFailed(e)) => Err(EngineError::Conflict(format!(
                "only failed executions can be retried; this one is {}",
                e.status
            ))),
            Some(RetryOutcome::Retried(e)) => {
                self.wake.notify_one();
                self.announce(&e);
                Ok(e)
            }
        }
    }

    /// A named error workflow must exist in the organization.
    async fn check_error_workflow(
        &self,
        org: Uuid,
        wf: &ValidatedWorkflow,
    ) -> Result<(), EngineError> {
        let Some(target) = wf.definition.settings.error_workflow_id else {
            return Ok(());
        };
        if self.store.get_workflow(org, target).await?.is_none() {
            return Err(EngineError::Invalid(vec![Problem {
                path: "settings.error_workflow_id".into(),
                issue: format!("no workflow {target} in this organization"),
            }]));
        }
        Ok(())
    }

    /// Keeps an existing token while the trigger stays a webhook; mints one when it becomes one.
    fn webhook_token_for(&self, wf: &ValidatedWorkflow, current: Option<String>) -> Option<String> {
        let trigger = &wf.definition.nodes[wf.graph.trigger()];
        if trigger.kind != "trigger.webhook" {
            return None;
        }
        current.or_else(|| {
            let mut bytes = [0u8; 24];
            rand::rng().fill_bytes(&mut bytes);
            Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
        })
    }
}

fn not_found(e: automatrix_store::StoreError) -> EngineError {
    match e {
        automatrix_store::StoreError::NotFound => EngineError::NotFound,
        other => other.into(),
    }
}

/// A new execution of `workflow`'s current version, queued.
pub(crate) fn queued_execution(
    workflow: &Workflow,
    input: Value,
    now: chrono::DateTime<Utc>,
    origin: Origin,
) -> NewExecution {
    NewExecution {
        id: Uuid::now_v7(),
        organization_id: workflow.organization_id,
        workflow_id: workflow.id,
        workflow_version: workflow.version,
        input,
        dry_run: false,
        now,
        lease: None,
        origin,
    }
}
