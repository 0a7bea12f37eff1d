//! A step that holds what its `running` record needs (the SQLite writer connection, say) for
//! longer than `show_running_after` must not deadlock with that record.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::expr::{Expressions, Limits};
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeRegistry, NodeSpec};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::{Trigger, plan};
use crate::checkpoint::{Checkpoint, CheckpointError, StepRecord};
use crate::executor::{Executor, ExecutorConfig, RunOutcome};

/// The one writer both the node and the checkpoint take turns at.
type Writer = Arc<Mutex<()>>;

struct HoldsWriter(Writer);

#[async_trait]
impl Node for HoldsWriter {
    fn spec(&self) -> NodeSpec {
        NodeSpec::new("t.holds_writer", "Holds the writer", "test")
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let _turn = self.0.lock().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(NodeOutput::main(input))
    }
}

struct WritesThrough(Writer);

#[async_trait]
impl Checkpoint for WritesThrough {
    async fn record(&self, _: &StepRecord) -> Result<(), CheckpointError> {
        let _turn = self.0.lock().await;
        Ok(())
    }
}

#[tokio::test]
async fn a_step_holding_the_writer_finishes_while_its_running_record_waits_for_it() {
    let writer = Writer::default();
    let mut registry = NodeRegistry::new();
    registry
        .register(Trigger)
        .register(HoldsWriter(writer.clone()));
    let config = ExecutorConfig {
        show_running_after: Duration::from_millis(10),
        ..ExecutorConfig::default()
    };
    let ex = Executor::new(
        Arc::new(registry),
        Expressions::new(1, Limits::default()),
        config,
    );
    let def = json!({
        "nodes": [{"id": "start", "type": "t.trigger"}, {"id": "write", "type": "t.holds_writer"}],
        "edges": [{"from": "start", "to": "write"}]
    });
    let checkpoint = WritesThrough(writer);
    let run = ex.run(
        plan(&ex, def, json!({"lead": 1})),
        &checkpoint,
        CancellationToken::new(),
    );

    let out = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("the run deadlocked");

    assert!(matches!(out, RunOutcome::Completed(_)), "{out:?}");
}
