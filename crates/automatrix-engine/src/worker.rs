//! The worker: claim a job (the claim commits before any work runs; on SQLite it starts the
//! execution in the same round trip), run the execution (see [`crate::job`]), repeat.
//! `process_next` runs exactly one job and `process_until_idle` runs jobs until there are none,
//! so tests drive workers deterministically; `run` is the long-lived loop with bounded
//! concurrency, wake-ups with a polling fallback, and a bounded drain on shutdown that gives
//! unfinished jobs back.
//!
//! Wake-ups come from this process (the [`Engine`](crate::Engine) queued work) and, through
//! the store's queue events (PostgreSQL `LISTEN/NOTIFY`, see [`crate::events`]), from every
//! other process on the database, which also relay cancellations to running executions.

use std::sync::Arc;
use std::time::Duration;

use automatrix_store::{ClaimedJob, Start, Store};
use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, warn};

use crate::cache::DefinitionCache;
use crate::cancel::CancelRegistry;
use crate::error::EngineError;
use crate::events::Relay;
use crate::executor::Executor;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Executions this worker runs at the same time.
    pub concurrency: usize,
    /// How long a claim is valid without a heartbeat.
    pub lease: Duration,
    /// How often an idle worker looks for work when nobody wakes it.
    pub poll_interval: Duration,
    /// How long shutdown waits for running executions before giving their jobs back.
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
    pub(crate) finished: crate::finished::Finished,
    pub(crate) live: crate::live::LiveBus,
    pub(crate) config: WorkerConfig,
    /// Cancelled when shutdown stops waiting: running executions give their jobs back.
    pub(crate) interrupt: CancellationToken,
    /// Runs started here under this worker ([`Engine::run_here`](crate::Engine::run_here)):
    /// its shutdown drains them with its own.
    pub(crate) tasks: TaskTracker,
    /// Opens credentials for the nodes of its runs.
    pub(crate) vault: crate::vault::Vault,
    /// Its engine's metrics: busy slots, finished executions and steps, AI calls.
    pub(crate) metrics: crate::metrics::Metrics,
}

impl Worker {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Claims the next job due at `now`, leased for the configured lease.
    async fn claim_due(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> Result<Option<(ClaimedJob, Start)>, EngineError> {
        Ok(self
            .store
            .claim_next(&self.id, now, now + self.config.lease)
            .await?)
    }

    /// Claims and runs one job. `Ok(false)` when no job was due.
    pub async fn process_next(&self) -> Result<bool, EngineError> {
        let now = Utc::now();
        let Some((job, start)) = self.claim_due(now).await? else {
            return Ok(false);
        };
        let span = crate::trace::job_span(&job, &self.id);
        self.run_job(job, start, now).instrument(span).await?;
        Ok(true)
    }

    /// Runs due jobs, up to the worker's concurrency at a time, until none is due and none is
    /// running; returns how many ran. Unlike calling [`process_next`](Self::process_next) in a
    /// loop, a job that waits for another job queued while it runs (a `flow.subworkflow` step
    /// waiting for the called workflow) finds it run beside it: new work queued by this
    /// process wakes the loop, so tests drive such runs without sleeping. An error returns at
    /// once and drops the jobs still running, whose leases then expire.
    pub async fn process_until_idle(&self) -> Result<usize, EngineError> {
        let slots = self.config.concurrency.max(1);
        let mut running = JoinSet::new();
        let mut ran = 0;
        loop {
            while running.len() < slots {
                let now = Utc::now();
                let Some((job, start)) = self.claim_due(now).await? else {
                    break;
                };
                let span = crate::trace::job_span(&job, &self.id);
                let me = self.clone();
                running.spawn(async move { me.run_job(job, start, now).await }.instrument(span));
                ran += 1;
            }
            tokio::select! {
                joined = running.join_next() => match joined {
                    None => return Ok(ran),
                    Some(Ok(ended)) => { ended?; }
                    Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                },
                // A wake-up stored before this loop only costs one claim that finds nothing.
                () = self.wake.notified() => {}
            }
        }
    }

    /// Runs until `shutdown`; then stops claiming, lets running executions finish for at most
    /// the drain timeout, and gives the jobs of the rest back so another worker resumes them
    /// at once.
    pub async fn run(self, shutdown: CancellationToken) {
        // Relays until the drain is over: a cancellation still stops a draining execution.
        let stop_relay = CancellationToken::new();
        let relay = Relay {
            store: self.store.clone(),
            wake: self.wake.clone(),
            cancels: self.cancels.clone(),
        };
        let relay = tokio::spawn(relay.run(stop_relay.clone()));
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        loop {
            let acquired = tokio::select! {
                p = slots.clone().acquire_owned() => p,
                () = shutdown.cancelled() => break,
            };
            let Ok(permit) = acquired else { break };
            let now = Utc::now();
            match self.claim_due(now).await {
                Ok(Some((job, start))) => {
                    debug!(execution_id = %job.execution_id, claims = job.claims, worker = %self.id, "claimed a job");
                    let me = self.clone();
                    let span = crate::trace::job_span(&job, &self.id);
                    tasks.spawn(
                        async move {
                            if let Err(e) = me.run_job(job, start, now).await {
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
        self.tasks.close();
        let both = async { tokio::join!(drain(&mut tasks), self.tasks.wait()) };
        if tokio::time::timeout(self.config.drain_timeout, both)
            .await
            .is_err()
        {
            warn!(
                running = tasks.len(),
                "shutdown: giving unfinished executions back to the queue"
            );
            self.interrupt.cancel();
            let both = async { tokio::join!(drain(&mut tasks), self.tasks.wait()) };
            if tokio::time::timeout(Duration::from_secs(5), both)
                .await
                .is_err()
            {
                tasks.abort_all();
            }
        }
        stop_relay.cancel();
        let _ = relay.await;
    }
}

async fn drain(tasks: &mut JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
}
