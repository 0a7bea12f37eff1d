//! Where the executor records steps. The worker persists them (the durable checkpoint), the
//! CLI prints them, benchmarks drop them.

use async_trait::async_trait;
use automatrix_core::StepStatus;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One state of one step.
#[derive(Clone, Debug)]
pub struct StepRecord {
    pub node_id: String,
    pub node_type: String,
    pub status: StepStatus,
    pub attempt: u32,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub port: Option<String>,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// The step has no effects outside the execution (a trigger, or a node without
    /// [`side_effects`](automatrix_core::NodeSpec::side_effects): a transform, a condition, a
    /// merge, code): its completion may become durable with the next write, since running it
    /// again after a crash changes nothing outside. A chain of such steps costs one write with
    /// whatever comes next (a step with side effects, a `running` row, the outcome).
    pub replayable: bool,
    /// Nothing else of the execution was in flight when the step finished: its completion may
    /// become durable when the next step starts ([`Checkpoint::before_step`]) or with the
    /// outcome, since nothing runs in between.
    pub deferrable: bool,
    /// Its output answers a waiting webhook caller ([`NodeSpec::answers_webhook`]).
    ///
    /// [`NodeSpec::answers_webhook`]: automatrix_core::NodeSpec::answers_webhook
    pub answers_webhook: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Another worker owns the execution now: stop without writing anything else.
    #[error("lease lost")]
    LeaseLost,
    /// The execution was cancelled.
    #[error("execution cancelled")]
    Cancelled,
    #[error("checkpoint failed: {0}")]
    Failed(String),
}

#[async_trait]
pub trait Checkpoint: Send + Sync {
    /// Records a step state. A finished step must be durable before this returns (or, when
    /// [`replayable`](StepRecord::replayable), with the next write; when
    /// [`deferrable`](StepRecord::deferrable), before the next step starts).
    async fn record(&self, step: &StepRecord) -> Result<(), CheckpointError>;

    /// Called before a step runs its node: a deferred completion must be durable now.
    async fn before_step(&self) -> Result<(), CheckpointError> {
        Ok(())
    }
}

/// Records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCheckpoint;

#[async_trait]
impl Checkpoint for NoCheckpoint {
    async fn record(&self, _: &StepRecord) -> Result<(), CheckpointError> {
        Ok(())
    }
}
