//! Helpers for driving nodes directly through the [`Node`] trait in unit tests.

use std::sync::{Arc, LazyLock};

use automatrix_core::expr::{Expressions, Limits, Scope};
use automatrix_core::{ExecutionId, Node, NodeContext, NodeError, NodeOutput, WorkflowId};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// One sandbox pool for the whole test binary: starting QuickJS per test is wasted work.
static EXPRESSIONS: LazyLock<Expressions> =
    LazyLock::new(|| Expressions::new(2, Limits::default()));

/// A context for node `node_id` whose `$json` is `input`.
pub fn ctx_with_input(node_id: &str, input: &Value) -> NodeContext {
    let execution_id = ExecutionId::new();
    let workflow_id = WorkflowId::new();
    let scope = Scope {
        json: input.clone(),
        trigger: input.clone(),
        execution: serde_json::json!({
            "id": execution_id.to_string(),
            "workflow_id": workflow_id.to_string(),
            "attempt": 1,
        }),
        now: "2026-01-01T00:00:00Z".to_owned(),
        ..Scope::default()
    };
    NodeContext {
        execution_id,
        workflow_id,
        node_id: node_id.to_owned(),
        attempt: 1,
        cancel: CancellationToken::new(),
        expressions: EXPRESSIONS.clone(),
        scope: Arc::new(scope),
        resume: None,
        services: Arc::new(automatrix_core::NoServices),
    }
}

/// Runs `node` once with `config` and `input`, in a fresh context.
pub async fn run(
    node: &(impl Node + ?Sized),
    config: Value,
    input: Value,
) -> Result<NodeOutput, NodeError> {
    let ctx = ctx_with_input("step", &input);
    node.execute(&ctx, config, input).await
}
