//! One step: expand the config, run the node with its timeout, retry retryable failures with
//! backoff, apply `on_error`, suspend when the node waits, and checkpoint every state change.
//! Each attempt is its own step-log row.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use automatrix_core::definition::{NodeDef, OnError};
use automatrix_core::expr::{Expressions, Scope};
use automatrix_core::node::{ERROR_PORT, ErrorClass, NodeContext, NodeError, NodeOutput, Wait};
use automatrix_core::registry::RegisteredNode;
use automatrix_core::{ExecutionId, NodeServices, StepStatus, WorkflowId};
use chrono::Utc;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};

/// What one step ended with.
pub(crate) enum StepEnd {
    Done(NodeOutput),
    /// The step failed and its `on_error` is `fail`.
    Failed(String),
    /// The step waits; the execution is parked until the wait is over.
    Waiting(Wait),
    Cancelled,
    Checkpoint(CheckpointError),
    /// A fan-out node ([`FanOut`]) emitted its items on its body port: nothing is recorded
    /// yet; the executor runs the body per item and then ends the step (see `executor/fan_out`).
    ///
    /// [`FanOut`]: automatrix_core::FanOut
    FanOut {
        record: StepRecord,
        items: Value,
    },
}

/// Everything a step needs that is the same for every step of an execution.
pub(crate) struct StepEnv<'a> {
    pub execution_id: ExecutionId,
    pub workflow_id: WorkflowId,
    pub expressions: &'a Expressions,
    pub checkpoint: &'a dyn Checkpoint,
    pub cancel: &'a CancellationToken,
    pub default_timeout: Duration,
    /// Bounds the steps running at once across every execution of the worker.
    pub slots: &'a Semaphore,
    /// How long a step runs before its `running` record is written.
    pub show_running_after: Duration,
    /// Steps of the execution started and not yet taken back by the executor; `None` inside
    /// a foreach body, whose steps run beside other items' and so never defer their completion.
    pub in_flight: Option<&'a AtomicUsize>,
    pub services: &'a Arc<dyn NodeServices>,
    pub dry_run: bool,
}

pub(crate) struct StepCall<'a> {
    pub def: &'a NodeDef,
    /// The id its steps are recorded under: the node id, or `id[index]` for a node of a
    /// foreach body running item `index`.
    pub record_id: String,
    pub reg: &'a RegisteredNode,
    pub input: Value,
    pub scope: Arc<Scope>,
    /// The attempt number of the first try (later than 1 when an earlier run tried already).
    pub first_attempt: u32,
    /// What the step recorded when it suspended, if this run resumes it.
    pub resume: Option<Value>,
}

pub(crate) async fn run_step(env: &StepEnv<'_>, mut call: StepCall<'_>) -> StepEnd {
    let Ok(_slot) = env.slots.acquire().await else {
        return StepEnd::Cancelled;
    };
    if let Err(e) = env.checkpoint.before_step().await {
        return StepEnd::Checkpoint(e);
    }
    let max_tries = call.def.retry.as_ref().map_or(1, |r| r.max_attempts.max(1));
    let mut attempt = call.first_attempt.max(1);
    let mut tries = 1;
    loop {
        let mut record = StepRecord {
            node_id: call.record_id.clone(),
            node_type: call.def.kind.clone(),
            status: StepStatus::Running,
            attempt,
            input: Some(call.input.clone()),
            output: None,
            port: None,
            error: None,
            started_at: Some(Utc::now()),
            completed_at: None,
            duration_ms: None,
            // A node without side effects changes nothing when it runs again: its completion
            // may wait for the next write (a batch of pure steps costs one write).
            replayable: call.reg.spec.is_trigger || !call.reg.spec.side_effects,
            deferrable: false,
            answers_webhook: call.reg.spec.answers_webhook,
        };
        let clock = Instant::now();
        // The `running` row is written only once a step has run for a while: a quick step
        // goes straight to its result row (one write instead of two), a slow one shows up as
        // running. Either way a crash re-runs the step, since it never completed.
        let mut show_running = call.resume.is_none();
        if show_running && env.show_running_after.is_zero() {
            // Every start is shown: record it before the step runs, not on a timer.
            if let Err(e) = env.checkpoint.record(&record).await {
                return StepEnd::Checkpoint(e);
            }
            show_running = false;
        }
        let result = {
            let run = attempt_once(env, &call, attempt);
            tokio::pin!(run);
            tokio::select! {
                biased;
                r = &mut run => r,
                () = tokio::time::sleep(env.show_running_after), if show_running => {
                    // The node goes on while its `running` record is written: a node that
                    // writes to the store itself (a key-value entry, a sub-workflow's
                    // execution) may have been handed the writer connection, which the
                    // record waits for, so pausing the node here would deadlock.
                    let (recorded, r) = tokio::join!(env.checkpoint.record(&record), &mut run);
                    if let Err(e) = recorded {
                        return StepEnd::Checkpoint(e);
                    }
                    r
                }
            }
        };
        // A resumed step gets its state once; a retry after it starts afresh.
        let resumed = call.resume.take();
        record.completed_at = Some(Utc::now());
        record.duration_ms = Some(clock.elapsed().as_millis() as i64);
        let error = match result {
            Attempt::Ok(out) => {
                if call.reg.spec.fan_out.is_some_and(|f| f.body == out.port) {
                    return StepEnd::FanOut {
                        record,
                        items: out.data,
                    };
                }
                return complete(env, record, out, None).await;
            }
            Attempt::Cancelled => {
                record.status = StepStatus::Cancelled;
                record.error = Some("cancelled".into());
                return finish(env, &record, StepEnd::Cancelled).await;
            }
            Attempt::Err(e) => e,
        };
        if error.class == ErrorClass::Suspended
            && let Some(wait) = error.wait.clone()
        {
            record.status = StepStatus::Waiting;
            record.completed_at = None;
            let mut state = json!({"wait": wait});
            if let Some(previous) = resumed.as_ref().and_then(|r| r.get("wait"))
                && previous == &state["wait"]
            {
                // Still the same wait: keep the row as it was (started_at included).
                return StepEnd::Waiting(wait);
            }
            state["message"] = json!(error.message);
            record.output = Some(state);
            return finish(env, &record, StepEnd::Waiting(wait)).await;
        }
        if error.is_retryable() && tries < max_tries {
            record.status = StepStatus::Failed;
            record.error = Some(error.message.clone());
            record.output = error.data.clone();
            if let Err(e) = env.checkpoint.record(&record).await {
                return StepEnd::Checkpoint(e);
            }
            tokio::select! {
                () = tokio::time::sleep(backoff(call.def, tries + 1)) => {}
                () = env.cancel.cancelled() => return StepEnd::Cancelled,
            }
            attempt += 1;
            tries += 1;
            continue;
        }
        return fail(env, call.def, record, error).await;
    }
}

/// Ends a step whose node failed for good, as its `on_error` says.
pub(crate) async fn fail(
    env: &StepEnv<'_>,
    def: &NodeDef,
    mut record: StepRecord,
    error: NodeError,
) -> StepEnd {
    match def.on_error {
        OnError::Fail => {
            record.status = StepStatus::Failed;
            record.error = Some(error.message.clone());
            record.output = error.data.clone();
            let msg = format!("node `{}` failed: {}", record.node_id, error.message);
            finish(env, &record, StepEnd::Failed(msg)).await
        }
        OnError::Continue => {
            let out = NodeOutput::main(error.to_value());
            complete(env, record, out, Some(error.message)).await
        }
        OnError::Route => {
            let out = NodeOutput::on(ERROR_PORT, error.to_value());
            complete(env, record, out, Some(error.message)).await
        }
    }
}

pub(crate) async fn complete(
    env: &StepEnv<'_>,
    mut record: StepRecord,
    out: NodeOutput,
    error: Option<String>,
) -> StepEnd {
    record.status = StepStatus::Completed;
    // This step is the only one in flight: nothing else runs until the executor starts the
    // next one.
    record.deferrable = env
        .in_flight
        .is_some_and(|n| n.load(Ordering::Relaxed) == 1);
    record.error = error;
    record.output = Some(out.data.clone());
    record.port = Some(out.port.clone());
    finish(env, &record, StepEnd::Done(out)).await
}

pub(crate) async fn finish(env: &StepEnv<'_>, record: &StepRecord, end: StepEnd) -> StepEnd {
    match env.checkpoint.record(record).await {
        Ok(()) => end,
        Err(e) => StepEnd::Checkpoint(e),
    }
}

enum Attempt {
    Ok(NodeOutput),
    Err(NodeError),
    Cancelled,
}

async fn attempt_once(env: &StepEnv<'_>, call: &StepCall<'_>, attempt: u32) -> Attempt {
    let spec = &call.reg.spec;
    let config = match env
        .expressions
        .resolve(&call.def.config, &spec.code_fields, call.scope.clone())
        .await
    {
        Ok(c) => c,
        Err(e) => return Attempt::Err(NodeError::fatal(format!("expression error: {e}"))),
    };
    let step_cancel = env.cancel.child_token();
    let ctx = NodeContext {
        execution_id: env.execution_id,
        workflow_id: env.workflow_id,
        node_id: call.record_id.clone(),
        attempt,
        cancel: step_cancel.clone(),
        expressions: env.expressions.clone(),
        scope: call.scope.clone(),
        resume: call.resume.clone(),
        services: env.services.clone(),
        dry_run: env.dry_run,
    };
    let timeout = call
        .def
        .timeout_ms
        .map_or(env.default_timeout, Duration::from_millis);
    let span = crate::trace::step_span(&call.record_id, &call.def.kind, attempt);
    let run = call
        .reg
        .node
        .execute(&ctx, config, call.input.clone())
        .instrument(span);
    // Cancel first: a node that sees the cancel (through `ctx.cancel`) and returns an error is
    // ready in the same poll, and that error must not turn a cancelled step into a failed one
    // (or, at shutdown, fail an execution that should be given back).
    let result = tokio::select! {
        biased;
        () = env.cancel.cancelled() => Attempt::Cancelled,
        r = tokio::time::timeout(timeout, run) => match r {
            Ok(Ok(out)) => Attempt::Ok(out),
            Ok(Err(e)) => Attempt::Err(e),
            Err(_) => Attempt::Err(NodeError::retryable(format!("step timed out after {} ms", timeout.as_millis()))),
        },
    };
    step_cancel.cancel();
    result
}

/// Policy delay plus up to 20 % jitter, so retries of many executions do not align.
fn backoff(def: &NodeDef, next_try: u32) -> Duration {
    let base = def.retry.as_ref().map_or(0, |r| r.base_delay_ms(next_try));
    let jitter = if base > 0 {
        rand::rng().random_range(0..=base / 5)
    } else {
        0
    };
    Duration::from_millis(base + jitter)
}
