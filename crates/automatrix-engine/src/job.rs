//! Running one claimed job (its execution already started by the claim): load its pinned
//! definition and what earlier runs left, heartbeat the lease, run the graph with a store-backed
//! checkpoint, and record the outcome (finished, waiting, or given back on shutdown).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::{ExecutionStatus, StepStatus, ValidatedWorkflow, validate_definition};
use automatrix_store::{
    ClaimedJob, Execution, ExecutionOutcome, NewExecution, Origin, Start, Step, StepWrite, Store,
    StoreError,
};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use uuid::Uuid;

use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};
use crate::error::EngineError;
use crate::executor::{PriorStep, RunOutcome, RunPlan};
use crate::live::{ExecutionEvent, LiveBus, LiveEvent, failure_notice, step_events};
use crate::services::RunServices;
use crate::worker::Worker;

impl Worker {
    /// Runs the execution of a job that [`claim_next`](automatrix_store::QueueStore::claim_next)
    /// claimed at `started`, starting it first if the claim did not.
    /// `Some` when the execution finished here: how it ended.
    pub(crate) async fn run_job(
        &self,
        job: ClaimedJob,
        start: Start,
        started: DateTime<Utc>,
    ) -> Result<Option<Ended>, EngineError> {
        // Registered before a later start: a cancel that commits after the start is relayed to
        // this token (one before it makes the start fail). A start made by the claim came
        // before this: a cancel in between reaches the token through the registry's memory of
        // recent cancels.
        let (cancel, _guard) = self.cancels.register(job.execution_id, &self.interrupt);
        let _busy = self.metrics.busy();
        let execution = match start {
            Start::Started(execution) => Some(*execution),
            Start::NotRunnable => None,
            Start::Later => self.store.start_execution(&job, started).await?,
        };
        let Some(execution) = execution else {
            return ignore_stale(self.store.drop_job(&job).await).map(|()| None);
        };
        self.live
            .publish(LiveEvent::Execution(ExecutionEvent::of(&execution)));
        crate::trace::record_request_id(execution.request_id.as_deref());
        let workflow = match self
            .definition(execution.workflow_id, execution.workflow_version)
            .await
        {
            Ok(wf) => wf,
            Err(message) => return self.finish(&job, &execution, None, failed(message)).await,
        };
        // The execution's first start (its start time is ours) has no steps yet: skip the read.
        let first_start = execution
            .started_at
            .is_some_and(|t| t.timestamp_micros() == started.timestamp_micros());
        let prior = if first_start {
            HashMap::new()
        } else {
            prior_steps(self.store.load_steps(execution.id).await?)
        };
        let plan = RunPlan {
            execution_id: execution.id.into(),
            workflow_id: execution.workflow_id.into(),
            workflow: workflow.clone(),
            input: execution.input_data.0.clone(),
            attempt: u32::try_from(job.claims).unwrap_or(u32::MAX),
            prior,
            services: Arc::new(RunServices {
                store: self.store.clone(),
                vault: self.vault.clone(),
                finished: self.finished.clone(),
                wake: self.wake.clone(),
                organization_id: execution.organization_id,
                workflow_id: execution.workflow_id,
                live: self.live.clone(),
                metrics: self.metrics.clone(),
                request_id: execution.request_id.clone(),
            }),
            dry_run: execution.dry_run,
        };
        let checkpoint = StoreCheckpoint {
            store: self.store.clone(),
            job: job.clone(),
            organization_id: execution.organization_id,
            workflow_id: execution.workflow_id,
            held: std::sync::Mutex::default(),
            finished: self.finished.clone(),
            live: self.live.clone(),
            metrics: self.metrics.clone(),
        };
        // The heartbeat runs beside the run in this task, and ends with it.
        let outcome = tokio::select! {
            biased;
            outcome = self.executor.run(plan, &checkpoint, cancel.clone()) => outcome,
            never = self.keep_lease(&job, &cancel) => match never {},
        };
        // The records still held go with the outcome; a wait or a hand-back writes them first.
        // (A failure leaves the job leased; it runs again when the lease expires.)
        let now = Utc::now();
        let outcome = match outcome {
            RunOutcome::Completed(v) => ExecutionOutcome {
                steps: checkpoint.take_held(),
                status: ExecutionStatus::Completed,
                output: Some(v),
                error: None,
                now,
                follow_up: None,
            },
            RunOutcome::Failed(msg) => ExecutionOutcome {
                steps: checkpoint.take_held(),
                ..failed(msg)
            },
            RunOutcome::Waiting { resume_at } => {
                ignore_stale(checkpoint.flush().await)?;
                ignore_stale(self.store.suspend_execution(&job, resume_at, now).await)?;
                self.live.publish(LiveEvent::Execution(ExecutionEvent {
                    status: ExecutionStatus::Waiting,
                    at: now,
                    ..ExecutionEvent::of(&execution)
                }));
                return Ok(None);
            }
            RunOutcome::Cancelled if self.interrupt.is_cancelled() => {
                ignore_stale(checkpoint.flush().await)?;
                ignore_stale(self.store.release_job(&job, now).await)?;
                return Ok(None);
            }
            RunOutcome::Cancelled => ExecutionOutcome {
                steps: checkpoint.take_held(),
                status: ExecutionStatus::Cancelled,
                output: None,
                error: Some("cancelled".to_owned()),
                now,
                follow_up: None,
            },
            RunOutcome::Abandoned => return Ok(None),
        };
        self.finish(&job, &execution, Some(&workflow), outcome)
            .await
    }

    /// Records the outcome; a failure also starts the workflow's error workflow, if it names
    /// one, in the same transaction.
    async fn finish(
        &self,
        job: &ClaimedJob,
        execution: &Execution,
        workflow: Option<&ValidatedWorkflow>,
        mut outcome: ExecutionOutcome,
    ) -> Result<Option<Ended>, EngineError> {
        if outcome.status == ExecutionStatus::Failed {
            let target = workflow.and_then(|w| w.definition.settings.error_workflow_id);
            if let Some(target) = target.filter(|t| *t != execution.workflow_id) {
                outcome.follow_up = self.error_run(execution, target, &outcome).await?;
            }
        }
        let ended = Ended {
            status: outcome.status,
            output: outcome.output.clone(),
        };
        let ran = execution.started_at.map(|started| outcome.now - started);
        let event = ExecutionEvent {
            status: outcome.status,
            error: outcome.error.clone(),
            duration_ms: ran.map(|d| d.num_milliseconds()),
            at: outcome.now,
            ..ExecutionEvent::of(execution)
        };
        let took = ran.and_then(|d| d.to_std().ok()).unwrap_or_default();
        let steps = step_events(execution.workflow_id, &outcome.steps);
        match self.store.finish_execution(job, outcome).await {
            Ok(()) => {}
            Err(StoreError::Stale(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        self.metrics.execution_finished(ended.status, took);
        self.finished.announce(execution.id);
        self.live.publish_all(steps);
        if event.status == ExecutionStatus::Failed {
            self.live
                .publish(LiveEvent::Notification(failure_notice(&event)));
        }
        self.live.publish(LiveEvent::Execution(event));
        debug!(status = %ended.status, "execution finished");
        Ok(Some(ended))
    }

    async fn error_run(
        &self,
        failed: &Execution,
        target: Uuid,
        outcome: &ExecutionOutcome,
    ) -> Result<Option<NewExecution>, EngineError> {
        let org = failed.organization_id;
        let Some(workflow) = self.store.get_workflow(org, target).await? else {
            warn!(error_workflow_id = %target, "the error workflow no longer exists");
            return Ok(None);
        };
        Ok(Some(NewExecution {
            id: Uuid::now_v7(),
            organization_id: org,
            workflow_id: workflow.id,
            workflow_version: workflow.version,
            input: json!({
                "error": {
                    "message": outcome.error,
                    "execution_id": failed.id,
                    "workflow_id": failed.workflow_id,
                    "workflow_version": failed.workflow_version,
                    "input": failed.input_data.0,
                    "failed_at": outcome.now,
                }
            }),
            // The error workflow of a dry run is one too: it must not send what a real
            // failure would.
            dry_run: failed.dry_run,
            now: outcome.now,
            lease: None,
            // It goes on from the failed run: its request, and this run's trace.
            origin: Origin {
                request_id: failed.request_id.clone(),
                trace_context: crate::trace::current(),
            },
        }))
    }

    /// The pinned definition, compiled once per version.
    async fn definition(
        &self,
        workflow: Uuid,
        version: i64,
    ) -> Result<Arc<ValidatedWorkflow>, String> {
        if let Some(wf) = self.cache.get(workflow, version) {
            return Ok(wf);
        }
        let row = self
            .store
            .load_workflow_version(workflow, version)
            .await
            .map_err(|e| format!("loading workflow version {version}: {e}"))?
            .ok_or_else(|| format!("workflow version {version} no longer exists"))?;
        let validated = validate_definition(&row.definition.0, self.executor.registry()).map_err(
            |problems| {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.issue))
                    .collect();
                format!(
                    "workflow definition is no longer valid: {}",
                    list.join("; ")
                )
            },
        )?;
        let wf = Arc::new(validated);
        self.cache.insert(workflow, version, wf.clone());
        Ok(wf)
    }

    /// Extends the lease every third of its length; a lost lease cancels the run. Never
    /// returns: the run it keeps ends it by finishing first.
    async fn keep_lease(&self, job: &ClaimedJob, run: &CancellationToken) -> Infallible {
        let (every, lease) = (self.config.lease / 3, self.config.lease);
        loop {
            tokio::time::sleep(every).await;
            match self.store.heartbeat_job(job, Utc::now() + lease).await {
                Ok(()) => {}
                Err(StoreError::Stale(_)) => {
                    warn!(execution_id = %job.execution_id, "lease lost; stopping");
                    run.cancel();
                    return std::future::pending().await;
                }
                Err(e) => warn!(error = %e, "heartbeat failed"),
            }
        }
    }
}

/// How an execution that finished in this process ended.
#[derive(Clone, Debug)]
pub struct Ended {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
}

fn failed(message: String) -> ExecutionOutcome {
    ExecutionOutcome {
        steps: Vec::new(),
        status: ExecutionStatus::Failed,
        output: None,
        error: Some(message),
        now: Utc::now(),
        follow_up: None,
    }
}

/// What earlier runs left, from the latest attempt of each node.
fn prior_steps(steps: Vec<Step>) -> HashMap<String, PriorStep> {
    let mut latest: HashMap<String, Step> = HashMap::new();
    for s in steps {
        match latest.get(&s.node_id) {
            Some(l) if l.attempt >= s.attempt => {}
            _ => {
                latest.insert(s.node_id.clone(), s);
            }
        }
    }
    latest
        .into_iter()
        .map(|(id, s)| {
            let attempt = u32::try_from(s.attempt).unwrap_or(1);
            let output = s.output_data.map(|j| j.0);
            (
                id,
                PriorStep::from_latest(s.status, attempt, s.output_port, output),
            )
        })
        .collect()
}

/// A lost lease means another worker owns the execution: nothing more to do here.
fn ignore_stale(r: Result<(), StoreError>) -> Result<(), EngineError> {
    match r {
        Ok(()) | Err(StoreError::Stale(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Persists steps, fenced by the job's lease; notices cancellation between steps.
///
/// Some records wait for the next write instead of taking a round trip of their own: a
/// replayable one (a trigger's completion, a skip), whose loss in a crash costs nothing but
/// running it again; and a completion nothing else was in flight beside
/// ([`deferrable`](StepRecord::deferrable)), which is written before the next step starts
/// ([`before_step`](Checkpoint::before_step)) or, when none follows, with the outcome.
struct StoreCheckpoint {
    store: Arc<dyn Store>,
    job: ClaimedJob,
    organization_id: Uuid,
    workflow_id: Uuid,
    held: std::sync::Mutex<Held>,
    /// Told when a step that answers a waiting webhook caller is written.
    finished: crate::finished::Finished,
    /// Told of every step record once it is written.
    live: LiveBus,
    /// Where the duration of each step that ran to its end is counted.
    metrics: crate::metrics::Metrics,
}

/// Records waiting for the next write.
#[derive(Default)]
struct Held {
    steps: Vec<StepWrite>,
    /// One of them must be durable before the next step starts.
    owed: bool,
}

impl StoreCheckpoint {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // Nothing can panic while the lock is held.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The records still held, for the outcome to write.
    fn take_held(&self) -> Vec<StepWrite> {
        std::mem::take(&mut *self.held()).steps
    }

    /// Writes the records still held, if any.
    async fn flush(&self) -> Result<(), StoreError> {
        let held = self.take_held();
        if held.is_empty() {
            return Ok(());
        }
        let events = step_events(self.workflow_id, &held);
        self.store.write_steps(&self.job, held).await?;
        self.live.publish_all(events);
        Ok(())
    }

    /// Writes `steps` (the held ones first) and notices a cancel.
    async fn write(&self, steps: Vec<StepWrite>, after: StepStatus) -> Result<(), CheckpointError> {
        let events = step_events(self.workflow_id, &steps);
        let status = self
            .store
            .write_steps(&self.job, steps)
            .await
            .map_err(|e| match e {
                StoreError::Stale(_) => CheckpointError::LeaseLost,
                other => CheckpointError::Failed(other.to_string()),
            })?;
        // Announced once durable: a watcher that reads the store after subscribing sees each
        // step in the one or the other.
        self.live.publish_all(events);
        // A cancel from anywhere is seen here at the latest (notifications make it sooner).
        if status == ExecutionStatus::Cancelled && after != StepStatus::Running {
            return Err(CheckpointError::Cancelled);
        }
        Ok(())
    }
}

#[async_trait]
impl Checkpoint for StoreCheckpoint {
    async fn record(&self, step: &StepRecord) -> Result<(), CheckpointError> {
        if let (StepStatus::Completed | StepStatus::Failed, Some(start), Some(end)) =
            (step.status, step.started_at, step.completed_at)
        {
            let took = (end - start).to_std().unwrap_or_default();
            self.metrics.step_finished(&step.node_type, took);
        }
        let write = StepWrite {
            execution_id: self.job.execution_id,
            organization_id: self.organization_id,
            node_id: step.node_id.clone(),
            node_type: step.node_type.clone(),
            status: step.status,
            attempt: i64::from(step.attempt),
            input_data: step.input.clone(),
            output_data: step.output.clone(),
            output_port: step.port.clone(),
            error_message: step.error.clone(),
            started_at: step.started_at,
            completed_at: step.completed_at,
            duration_ms: step.duration_ms,
            now: Utc::now(),
        };
        let done = matches!(step.status, StepStatus::Completed | StepStatus::Skipped);
        if done && (step.replayable || step.deferrable) && !step.answers_webhook {
            let mut held = self.held();
            held.steps.push(write);
            held.owed |= !step.replayable;
            return Ok(());
        }
        let mut steps = self.take_held();
        steps.push(write);
        self.write(steps, step.status).await?;
        if step.answers_webhook && step.status == StepStatus::Completed {
            self.finished.announce(self.job.execution_id);
        }
        Ok(())
    }

    async fn before_step(&self) -> Result<(), CheckpointError> {
        let steps = {
            let mut held = self.held();
            if !held.owed {
                return Ok(());
            }
            std::mem::take(&mut *held).steps
        };
        self.write(steps, StepStatus::Completed).await
    }
}
