//! One step: expand the config, run the node with its timeout, retry retryable failures with
//! backoff, apply `on_error`, and checkpoint every state change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automatrix_core::definition::{NodeDef, OnError};
use automatrix_core::expr::{Expressions, Scope};
use automatrix_core::node::{ERROR_PORT, NodeContext, NodeError, NodeOutput};
use automatrix_core::registry::RegisteredNode;
use automatrix_core::{ExecutionId, StepStatus, WorkflowId};
use chrono::Utc;
use rand::Rng;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};

/// What one step ended with.
pub(crate) enum StepEnd {
    Done(NodeOutput),
    /// The step failed and its `on_error` is `fail`.
    Failed(String),
    Cancelled,
    Checkpoint(CheckpointError),
}

/// Everything a step needs that is the same for every step of an execution.
pub(crate) struct StepEnv<'a> {
    pub execution_id: ExecutionId,
    pub workflow_id: WorkflowId,
    pub expressions: &'a Expressions,
    pub checkpoint: &'a dyn Checkpoint,
    pub cancel: &'a CancellationToken,
    pub default_timeout: Duration,
}

pub(crate) struct StepCall<'a> {
    pub def: &'a NodeDef,
    pub reg: &'a RegisteredNode,
    pub input: Value,
    pub scope: Arc<Scope>,
}

pub(crate) async fn run_step(env: &StepEnv<'_>, call: StepCall<'_>) -> StepEnd {
    let max_attempts = call.def.retry.as_ref().map_or(1, |r| r.max_attempts.max(1));
    let mut attempt = 1;
    loop {
        let started_at = Utc::now();
        let clock = Instant::now();
        let mut record = StepRecord {
            node_id: call.def.id.clone(),
            node_type: call.def.kind.clone(),
            status: StepStatus::Running,
            attempt,
            input: Some(call.input.clone()),
            output: None,
            port: None,
            error: None,
            started_at: Some(started_at),
            completed_at: None,
            duration_ms: None,
        };
        if let Err(e) = env.checkpoint.record(&record).await {
            return StepEnd::Checkpoint(e);
        }
        let result = attempt_once(env, &call, attempt).await;
        record.completed_at = Some(Utc::now());
        record.duration_ms = Some(clock.elapsed().as_millis() as i64);
        let outcome = match result {
            Attempt::Ok(out) => Ok(out),
            Attempt::Cancelled => {
                record.status = StepStatus::Cancelled;
                record.error = Some("cancelled".into());
                return finish(env, &record, StepEnd::Cancelled).await;
            }
            Attempt::Err(e) => Err(e),
        };
        let out = match outcome {
            Ok(out) => out,
            Err(e) if e.is_retryable() && attempt < max_attempts => {
                record.status = StepStatus::Failed;
                record.error = Some(e.message.clone());
                if let Err(e) = env.checkpoint.record(&record).await {
                    return StepEnd::Checkpoint(e);
                }
                let delay = backoff(call.def, attempt + 1);
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = env.cancel.cancelled() => {
                        record.status = StepStatus::Cancelled;
                        return finish(env, &record, StepEnd::Cancelled).await;
                    }
                }
                attempt += 1;
                continue;
            }
            Err(e) => match call.def.on_error {
                OnError::Fail => {
                    record.status = StepStatus::Failed;
                    record.error = Some(e.message.clone());
                    record.output = e.data.clone();
                    let msg = format!("node `{}` failed: {}", call.def.id, e.message);
                    return finish(env, &record, StepEnd::Failed(msg)).await;
                }
                OnError::Continue => {
                    record.error = Some(e.message.clone());
                    NodeOutput::main(e.to_value())
                }
                OnError::Route => {
                    record.error = Some(e.message.clone());
                    NodeOutput::on(ERROR_PORT, e.to_value())
                }
            },
        };
        record.status = StepStatus::Completed;
        record.output = Some(out.data.clone());
        record.port = Some(out.port.clone());
        return finish(env, &record, StepEnd::Done(out)).await;
    }
}

async fn finish(env: &StepEnv<'_>, record: &StepRecord, end: StepEnd) -> StepEnd {
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
        node_id: call.def.id.clone(),
        attempt,
        cancel: step_cancel.clone(),
        expressions: env.expressions.clone(),
        scope: call.scope.clone(),
    };
    let timeout = call
        .def
        .timeout_ms
        .map_or(env.default_timeout, Duration::from_millis);
    let run = call.reg.node.execute(&ctx, config, call.input.clone());
    let result = tokio::select! {
        r = tokio::time::timeout(timeout, run) => match r {
            Ok(Ok(out)) => Attempt::Ok(out),
            Ok(Err(e)) => Attempt::Err(e),
            Err(_) => Attempt::Err(NodeError::retryable(format!("step timed out after {} ms", timeout.as_millis()))),
        },
        () = env.cancel.cancelled() => Attempt::Cancelled,
    };
    step_cancel.cancel();
    result
}

/// Policy delay plus up to 20 % jitter, so retries of many executions do not align.
fn backoff(def: &NodeDef, next_attempt: u32) -> Duration {
    let base = def
        .retry
        .as_ref()
        .map_or(0, |r| r.base_delay_ms(next_attempt));
    let jitter = if base > 0 {
        rand::rng().random_range(0..=base / 5)
    } else {
        0
    };
    Duration::from_millis(base + jitter)
}
