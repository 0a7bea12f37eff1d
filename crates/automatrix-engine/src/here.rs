//! Runs started here: an execution that the process creating it runs at once, on a lease it
//! takes in the same write, instead of queueing it for any worker. A webhook answered on
//! completion runs this way: no worker has to be woken, claim the job and start the execution
//! (three round trips fewer), and the caller's answer is the run's own outcome rather than a
//! read of the store. Durability is unchanged: the execution and its leased job are stored
//! before the run starts, every step is checkpointed, and were the process to die, another
//! worker reclaims the job when the lease expires.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use automatrix_store::{Execution, NewExecution, NewLease, Origin, Start, Workflow};
use chrono::Utc;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{Instrument, warn};
use uuid::Uuid;

use crate::error::EngineError;
use crate::job::Ended;
use crate::service::{Awaited, Engine, queued_execution};
use crate::worker::Worker;

/// The worker whose lease and settings runs started here use, and how many may run at once.
#[derive(Clone)]
pub(crate) struct RunsHere {
    worker: Worker,
    slots: Arc<Semaphore>,
}

/// What [`Engine::start_here`] did.
pub struct Started {
    pub execution: Execution,
    /// False when an `Idempotency-Key` named an earlier execution.
    pub created: bool,
    /// The run, when it started here; `None` when the execution went to the queue.
    pub run: Option<Run>,
}

/// A run started here. Awaiting it gives how the execution ended, or `None` when it did not
/// end in this run (it waits for a timer or a decision, was given back at shutdown, or its
/// lease was lost). Dropping it leaves the run going.
pub struct Run(JoinHandle<Option<Ended>>);

impl Future for Run {
    type Output = Option<Ended>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| joined.ok().flatten())
    }
}

impl Engine {
    /// Waits for a run started here, for at most `timeout` (the run goes on after that).
    pub async fn wait_for_run(&self, run: Run, timeout: std::time::Duration) -> Awaited {
        match tokio::time::timeout(timeout, run).await {
            Ok(Some(ended)) => Awaited::Finished(ended),
            Ok(None) | Err(_) => Awaited::Pending,
        }
    }

    /// Lets this process run up to `at_once` executions it starts with
    /// [`start_here`](Self::start_here) itself, under `worker`'s id, lease and drain (the
    /// worker's shutdown waits for them too). Set once; later calls change nothing.
    pub fn run_here(&self, worker: &Worker, at_once: usize) {
        let runs = RunsHere {
            worker: worker.clone(),
            slots: Arc::new(Semaphore::new(at_once)),
        };
        let _ = self.runs_here().set(runs);
    }

    /// Starts `workflow` like [`start_workflow`](Self::start_workflow) does, but runs the new
    /// execution in this process at once when [`run_here`](Self::run_here) allows it and a
    /// slot is free; otherwise it is queued.
    pub async fn start_here(
        &self,
        workflow: &Workflow,
        input: Value,
        idempotency_key: Option<&str>,
        origin: Origin,
    ) -> Result<Started, EngineError> {
        let here = self.runs_here().get().and_then(|runs| {
            let slot = runs.slots.clone().try_acquire_owned().ok()?;
            Some((runs.worker.clone(), slot))
        });
        let Some((worker, slot)) = here else {
            let (execution, created) = self
                .start_workflow(workflow, input, idempotency_key, origin)
                .await?;
            return Ok(Started {
                execution,
                created,
                run: None,
            });
        };
        let now = Utc::now();
        let new = NewExecution {
            lease: Some(NewLease {
                job_id: Uuid::now_v7(),
                worker: worker.id.clone(),
                token: Uuid::now_v7(),
                until: now + worker.config.lease,
            }),
            ..queued_execution(workflow, input, now, origin)
        };
        let job = new.claimed_job().expect("created with a lease");
        let (execution, created) = self.create_execution(new, idempotency_key).await?;
        if !created {
            // A repeat: the first call's execution runs (or ran) wherever it was started.
            return Ok(Started {
                execution,
                created,
                run: None,
            });
        }
        let span = crate::trace::job_span(&job, &worker.id);
        let start = Start::Started(Box::new(execution.clone()));
        let tasks = worker.tasks.clone();
        let run = tasks.spawn(
            async move {
                let ended = worker.run_job(job, start, now).await;
                drop(slot);
                ended.unwrap_or_else(|e| {
                    warn!(error = %e, "execution could not be completed");
                    None
                })
            }
            .instrument(span),
        );
        Ok(Started {
            execution,
            created,
            run: Some(Run(run)),
        })
    }
}
