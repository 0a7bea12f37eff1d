//! `flow.subworkflow`: runs another workflow of the organization and passes on its output.
//! The engine's [`NodeServices::run_workflow`](automatrix_core::NodeServices::run_workflow)
//! queues the called workflow's execution once per step (the idempotency key) and waits for it.

use std::str::FromStr;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{
    ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec, SubRun, WorkflowId,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fields::present;

/// Runs another workflow and outputs what it output.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowSubworkflow;

impl FlowSubworkflow {
    pub const KIND: &'static str = "flow.subworkflow";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubworkflowConfig {
    workflow_id: String,
    #[serde(default, deserialize_with = "present")]
    input: Option<Value>,
}

const DOCS: &str = r#"Runs another workflow of the organization and outputs what it output: one "assign the lead to a salesperson" or "send to the CRM" workflow, called from every lead source's workflow instead of copied into each.

**Input and output:** the called workflow's trigger gets `input` (by default this node's input; `"input": null` sends null). This node's output is the called workflow's output, on `main`.

**How it runs:** the called workflow runs as an execution of its own, listed with its executions like any other, with its own steps and logs. This step waits for it to end:

- it completed: the step completes with its output;
- it failed or was cancelled: the step fails (fatally) with the called workflow's error message, and the error's data names its `execution_id`, `status` and `error`. The node's `on_error` applies as for any failure.

A retry of this step (after a timeout, or after a restart) within 24 hours finds the execution it started instead of starting another: the call is made once per step of the calling execution. A workflow cannot call itself (the step fails). Chains of calls are allowed, but each waiting caller holds a worker slot, and a loop through other workflows (A calls B, B calls A) is not detected: it ends when the step timeouts or the worker slots run out.

**Waiting:** a called workflow that waits (a `flow.delay`, a `flow.approval`) keeps this step waiting until it ends, at most for the step's timeout (`timeout_ms` of this node, else the engine's default step timeout, 5 minutes): give the node a `timeout_ms` long enough. The called execution goes on after the caller gave up (a step timeout is retryable), and a retry of the step (the node's `retry` policy) waits for it again.

**Workers:** the caller holds its worker slot while the called execution needs another one: run at least two executions at a time (`--workers 2` or more; the default is 32), or a caller that takes the last slot waits for its timeout.

**Dry run:** in a dry run the called workflow runs too, as a dry run of its own (its execution is marked `dry_run`), so its side-effect nodes preview instead of acting; this step's output is the called workflow's output, previews included. Nothing is added to the output: it is what a real run's caller would get, with the called workflow's previews in place of what they would have done.

**Errors** (fatal): `workflow_id` that is not a workflow id (a UUID; refused when the workflow is saved unless it is an expression), a workflow that does not exist in the organization, a call to the workflow itself, the called workflow failing. A run without a server (`automatrix run FILE`) cannot call workflows.

**Example:** hand each new lead to the shared assignment workflow:

```json
{"id": "assign", "type": "flow.subworkflow", "config": {"workflow_id": "0193a5c2-7d1e-7c3a-9b2f-5e8d4c1a2b3c", "input": {"lead": "{{ $json }}", "store": "{{ $vars.store_code }}"}}, "timeout_ms": 60000}
```
"#;

#[async_trait]
impl Node for FlowSubworkflow {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Runs another workflow as its own execution, waits for it and outputs its output.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "workflow_id": {"description": "The id (a UUID) of the workflow to run; often `{{ $vars.… }}`.", "type": "string", "minLength": 1},
                    "input": {"description": "What the called workflow's trigger gets; this node's input when absent."},
                },
                "required": ["workflow_id"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            side_effects: true,
            ..NodeSpec::new(Self::KIND, "Sub-Workflow", "flow")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        let Some(id) = config["workflow_id"].as_str() else {
            // The schema has said what is wrong.
            return Vec::new();
        };
        workflow_id(id).err().into_iter().collect()
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: SubworkflowConfig = parse_config(config)?;
        let id = workflow_id(&config.workflow_id).map_err(|i| {
            NodeError::fatal(format!("flow.subworkflow: `workflow_id` {}", i.issue))
        })?;
        let output = ctx
            .services
            .run_workflow(SubRun {
                workflow_id: id.to_string(),
                input: config.input.unwrap_or(input),
                idempotency_key: ctx.idempotency_key(),
                cancel: ctx.cancel.clone(),
                dry_run: ctx.dry_run,
            })
            .await?;
        Ok(NodeOutput::main(output))
    }
}

fn workflow_id(text: &str) -> Result<WorkflowId, ConfigIssue> {
    WorkflowId::from_str(text.trim()).map_err(|_| ConfigIssue {
        field: "workflow_id".into(),
        issue: format!("`{text}` is not a workflow id (a UUID)"),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::test_support::{FakeServices, run};

    const CHILD: &str = "0193a5c2-7d1e-7c3a-9b2f-5e8d4c1a2b3c";

    async fn call(services: &Arc<FakeServices>, config: Value) -> Result<Value, NodeError> {
        let ctx = services.ctx("assign", &json!({"lead": 7}));
        FlowSubworkflow
            .execute(&ctx, config, json!({"lead": 7}))
            .await
            .map(|o| o.data)
    }

    #[tokio::test]
    async fn the_called_workflows_output_is_the_output_and_the_input_defaults_to_the_nodes() {
        let services = FakeServices::new(Ok(json!({"salesperson": "Ann"})));

        let out = call(&services, json!({"workflow_id": CHILD}))
            .await
            .unwrap();
        call(
            &services,
            json!({"workflow_id": format!(" {CHILD} "), "input": null}),
        )
        .await
        .unwrap();

        assert_eq!(out, json!({"salesperson": "Ann"}));
        let runs = services.sub_runs.lock().unwrap();
        assert_eq!(runs[0].workflow_id, CHILD);
        assert_eq!(runs[0].input, json!({"lead": 7}));
        assert!(
            runs[0].idempotency_key.ends_with(":assign"),
            "{}",
            runs[0].idempotency_key
        );
        assert_eq!(
            (runs[1].workflow_id.as_str(), &runs[1].input),
            (CHILD, &Value::Null)
        );
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_step_with_its_message() {
        let services = FakeServices::new(Err(NodeError::fatal(
            "sub-workflow \"Assign\" failed: no one on shift",
        )));

        let err = call(&services, json!({"workflow_id": CHILD}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert_eq!(
            err.message,
            "sub-workflow \"Assign\" failed: no one on shift"
        );
    }

    #[tokio::test]
    async fn an_id_that_is_not_a_uuid_is_refused_before_anything_runs() {
        let services = FakeServices::new(Ok(Value::Null));

        let issues = FlowSubworkflow.check_config(&json!({"workflow_id": "assign-leads"}));
        let err = call(&services, json!({"workflow_id": "assign-leads"}))
            .await
            .unwrap_err();

        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "workflow_id");
        assert_eq!(
            issues[0].issue,
            "`assign-leads` is not a workflow id (a UUID)"
        );
        assert!(
            err.message.contains("is not a workflow id"),
            "{}",
            err.message
        );
        assert!(services.sub_runs.lock().unwrap().is_empty());
        assert_eq!(
            FlowSubworkflow.check_config(&json!({"workflow_id": CHILD})),
            vec![]
        );
    }

    #[tokio::test]
    async fn without_a_server_the_step_fails_saying_so() {
        let err = run(&FlowSubworkflow, json!({"workflow_id": CHILD}), json!({}))
            .await
            .unwrap_err();

        assert!(err.message.contains("need a server"), "{}", err.message);
    }
}
