//! The worker: claim a job (the claim commits before any work runs), heartbeat its lease,
//! run the execution with a store-backed checkpoint, record the outcome. `process_next` runs
//! exactly one job, so tests drive workers deterministically; `run` is the long-lived loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::{ExecutionStatus, StepStatus, ValidatedWorkflow, validate_definition};
use automatrix_store::{ClaimedJob, ExecutionOutcome, StepWrite, Store, StoreError};
use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span, warn};

use crate::cache::DefinitionCache;
use crate::cancel::CancelRegistry;
use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};
use crate::error::EngineError;
use crate::executor::{Executor, PriorStep, RunOutcome, RunPlan};

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Executions this worker runs at the same time.
    pub concurrency: usize,
    /// How long a claim is valid without a heartbeat.
    pub lease: Duration,
    /// How often an idle worker looks for work when nobody wakes it.
    pub poll_interval: Duration,
    /// How long shutdown waits for running executions before abandoning them to the lease.
    pub drain_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    pub(crate) id: String,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) executor: Executor,
    pub(crate) cache: DefinitionCache,
    pub(crate) cancels: CancelRegistry,
    pub(crate) wake: Arc<Notify>,
    pub(crate) config: WorkerConfig,
}

impl Worker {
    /// Claims and runs one job. `Ok(false)` when no job was due.
    pub async fn process_next(&self) -> Result<bool, EngineError> {
        let now = Utc::now();
        let Some(job) = self
            .store
            .claim_job(&self.id, now, now + self.config.lease)
            .await?
        else {
            return Ok(false);
        };
        let span = info_span!("execution", execution_id = %job.execution_id, worker = %self.id);
        self.run_job(job).instrument(span).await?;
        Ok(true)
    }

    /// Runs until `shutdown`, then drains running executions for at most the drain timeout.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        loop {
            let acquired = tokio::select! {
                p = slots.clone().acquire_owned() => p,
                () = shutdown.cancelled() => break,
            };
            let Ok(permit) = acquired else { break };
            match self
                .store
                .claim_job(&self.id, Utc::now(), Utc::now() + self.config.lease)
                .await
            {
                Ok(Some(job)) => {
                    let me = self.clone();
                    let span = info_span!("execution", execution_id = %job.execution_id, worker = %self.id);
                    tasks.spawn(
                        async move {
                            if let Err(e) = me.run_job(job).await {
                                warn!(error = %e, "execution could not be completed");
                            }
                            drop(permit);
                        }
                        .instrument(span),
                    );
                    continue;
                }
                Ok(None) => drop(permit),
                Err(e) => {
                    drop(permit);
                    warn!(error = %e, "claiming a job failed");
                }
            }
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = shutdown.cancelled() => break,
            }
        }
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.config.drain_timeout, drain)
            .await
            .is_err()
        {
            warn!("shutdown: abandoning running executions to lease expiry");
            tasks.abort_all();
        }
    }

    async fn run_job(&self, job: ClaimedJob) -> Result<(), EngineError> {
        let Some(execution) = self.store.start_execution(&job, Utc::now()).await? else {
            return ignore_stale(self.store.drop_job(&job).await);
        };
        let workflow = match self
            .definition(execution.workflow_id, execution.workflow_version)
            .await
        {
            Ok(wf) => wf,
            Err(message) => {
                let outcome = ExecutionOutcome {
                    status: ExecutionStatus::Failed,
                    output: None,
                    error: Some(message),
                    now: Utc::now(),
                };
                return ignore_stale(self.store.finish_execution(&job, outcome).await);
            }
        };
        let prior = self.prior_steps(execution.id).await?;
        let (cancel, _guard) = self.cancels.register(execution.id);
        let heartbeat = self.heartbeat(job.clone(), cancel.clone());
        let plan = RunPlan {
            execution_id: execution.id.into(),
            workflow_id: execution.workflow_id.into(),
            workflow,
            input: execution.input_data.0.clone(),
            attempt: u32::try_from(job.claims).unwrap_or(u32::MAX),
            prior,
        };
        let checkpoint = StoreCheckpoint {
            store: self.store.clone(),
            job: job.clone(),
            organization_id: execution.organization_id,
        };
        let outcome = self.executor.run(plan, &checkpoint, cancel).await;
        heartbeat.cancel();
        let (status, output, error) = match outcome {
            RunOutcome::Completed(v) => (ExecutionStatus::Completed, Some(v), None),
            RunOutcome::Failed(msg) => (ExecutionStatus::Failed, None, Some(msg)),
            RunOutcome::Cancelled => (
                ExecutionStatus::Cancelled,
                None,
                Some("cancelled".to_owned()),
            ),
            RunOutcome::Abandoned => return Ok(()),
        };
        let outcome = ExecutionOutcome {
            status,
            output,
            error,
            now: Utc::now(),
        };
        ignore_stale(self.store.finish_execution(&job, outcome).await)
    }

    /// The pinned definition, compiled once per version.
    async fn definition(
        &self,
        workflow: uuid::Uuid,
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

    async fn prior_steps(
        &self,
        execution: uuid::Uuid,
    ) -> Result<HashMap<String, PriorStep>, EngineError> {
        let steps = self.store.load_steps(execution).await?;
        Ok(steps
            .into_iter()
            .filter_map(|s| {
                let prior = match s.status {
                    StepStatus::Completed => PriorStep::Completed {
                        port: s.output_port.unwrap_or_else(|| "main".to_owned()),
                        output: s.output_data.map(|j| j.0).unwrap_or_default(),
                    },
                    StepStatus::Skipped => PriorStep::Skipped,
                    _ => return None,
                };
                Some((s.node_id, prior))
            })
            .collect())
    }

    /// Extends the lease every third of its length; a lost lease cancels the run.
    fn heartbeat(&self, job: ClaimedJob, run: CancellationToken) -> CancellationToken {
        let stop = CancellationToken::new();
        let (store, every, lease, done) = (
            self.store.clone(),
            self.config.lease / 3,
            self.config.lease,
            stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = done.cancelled() => return,
                }
                match store.heartbeat_job(&job, Utc::now() + lease).await {
                    Ok(()) => {}
                    Err(StoreError::Stale(_)) => {
                        warn!(execution_id = %job.execution_id, "lease lost; stopping");
                        run.cancel();
                        return;
                    }
                    Err(e) => warn!(error = %e, "heartbeat failed"),
                }
            }
        });
        stop
    }
}

/// A lost lease means another worker owns the execution: nothing more to do here.
fn ignore_stale(r: Result<(), StoreError>) -> Result<(), EngineError> {
    match r {
        Ok(()) | Err(StoreError::Stale(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Persists steps, fenced by the job's lease; notices cancellation between steps.
struct StoreCheckpoint {
    store: Arc<dyn Store>,
    job: ClaimedJob,
    organization_id: uuid::Uuid,
}

#[async_trait]
impl Checkpoint for StoreCheckpoint {
    async fn record(&self, step: &StepRecord) -> Result<(), CheckpointError> {
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
        self.store
            .write_step(&self.job, write)
            .await
            .map_err(|e| match e {
                StoreError::Stale(_) => CheckpointError::LeaseLost,
                other => CheckpointError::Failed(other.to_string()),
            })?;
        if step.status != StepStatus::Running {
            let status = self
                .store
                .execution_status(self.job.execution_id)
                .await
                .map_err(|e| CheckpointError::Failed(e.to_string()))?;
            if status == Some(ExecutionStatus::Cancelled) {
                return Err(CheckpointError::Cancelled);
            }
        }
        Ok(())
    }
}
