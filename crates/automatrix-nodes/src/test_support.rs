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

/// Services that know a fixed set of credentials (by id) and nothing else.
#[derive(Default)]
pub struct Credentials(pub std::collections::HashMap<String, automatrix_core::Credential>);

#[async_trait::async_trait]
impl automatrix_core::NodeServices for Credentials {
    async fn credential(&self, id: &str) -> Result<automatrix_core::Credential, NodeError> {
        self.0
            .get(id)
            .cloned()
            .ok_or_else(|| NodeError::fatal(format!("credential {id} does not exist")))
    }

    async fn kv(&self, op: automatrix_core::KvOp) -> Result<automatrix_core::KvAnswer, NodeError> {
        automatrix_core::NoServices.kv(op).await
    }

    async fn run_workflow(&self, run: automatrix_core::SubRun) -> Result<Value, NodeError> {
        automatrix_core::NoServices.run_workflow(run).await
    }
}

/// Runs `node` once with `config` and `input`, with credential `id` of `kind` holding `data`.
pub async fn run_with_credential(
    node: &(impl Node + ?Sized),
    config: Value,
    (id, kind, data): (&str, &str, Value),
) -> Result<NodeOutput, NodeError> {
    let credential = automatrix_core::Credential {
        kind: kind.to_owned(),
        data,
    };
    let mut ctx = ctx_with_input("step", &Value::Null);
    ctx.services = Arc::new(Credentials(
        [(id.to_owned(), credential)].into_iter().collect(),
    ));
    node.execute(&ctx, config, Value::Null).await
}
