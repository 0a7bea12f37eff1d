//! The node contract: what a node type declares ([`NodeSpec`]), what it gets when it runs
//! ([`NodeContext`]) and what it returns ([`NodeOutput`] or [`NodeError`]).
//!
//! Node implementations live in other crates (`automatrix-nodes`, `automatrix-ai`); the engine
//! only sees `Arc<dyn Node>` through the [`crate::NodeRegistry`] and never names a concrete node.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::expr::{Expressions, Scope};
use crate::ids::{ExecutionId, WorkflowId};
use crate::services::NodeServices;

/// The port a node emits on when it does not branch.
pub const MAIN_PORT: &str = "main";
/// The port a failed node routes to when its `on_error` is `route`.
pub const ERROR_PORT: &str = "error";
/// What a port named in a config ([`Node::outputs`]) must look like: the shape of a node id.
pub const PORT_NAME_PATTERN: &str = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$";

/// What a node type declares about itself. The canvas palette, the config forms and the
/// definition validator are all generated from this.
#[derive(Clone, Debug, Serialize)]
pub struct NodeSpec {
    /// Durable type name used in definitions, e.g. `transform.set`. Never renamed.
    pub kind: &'static str,
    pub display_name: &'static str,
    /// Palette group: `trigger`, `logic`, `transform`, `code`, `http`, ...
    pub category: &'static str,
    pub description: &'static str,
    /// JSON Schema (draft 2020-12) of the node's `config`.
    pub config_schema: Value,
    /// Output ports. A node that does not branch has exactly [`MAIN_PORT`]; one that ends its
    /// branch has none. Empty too when [`Self::dynamic_outputs`] is set.
    pub outputs: Vec<&'static str>,
    /// Its ports are named by each node's config (`logic.switch`), as [`Node::outputs`] tells,
    /// instead of by [`Self::outputs`].
    pub dynamic_outputs: bool,
    /// Triggers start a workflow; a definition has exactly one and it has no incoming edges.
    pub is_trigger: bool,
    /// Receives its input keyed by predecessor id even when only one predecessor is active
    /// (merge nodes: they must know which branch each value came from).
    pub keyed_input: bool,
    /// Config fields holding JavaScript function bodies: they are syntax-checked as code and
    /// are not expanded as `{{ }}` templates before the node runs.
    pub code_fields: Vec<&'static str>,
    /// Longer documentation (Markdown) shown in the node reference and the canvas.
    pub docs: &'static str,
    /// Its output (`{status, body, headers}`) answers the caller of a webhook that waits for
    /// the workflow.
    pub answers_webhook: bool,
    /// Running it changes something outside the execution (a request sent, a message posted):
    /// running it twice is not the same as once. The canvas marks such nodes, and dry runs
    /// stand in for them.
    pub side_effects: bool,
    /// It runs part of the graph once per item (`logic.foreach`); see [`FanOut`].
    pub fan_out: Option<FanOut>,
}

/// What a node that runs a sub-graph once per item declares (`logic.foreach`).
///
/// The *body* is every node reachable from the `body` port; the validator keeps it closed (no
/// edge enters it from elsewhere, so nothing leaves it either). The node's `execute` emits on
/// the `body` port a [`FanOutItems`]; the engine then runs the body once per item (that item
/// as the input of the nodes the `body` port leads to), at most `concurrency` items at a time,
/// records each body step under `node_id[index]`, and completes the node on the `done` port
/// with `{"results": [...], "count": n}`: per item, in input order, the output of the body's
/// completed sink (an object keyed by node id when several completed, `null` when none did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FanOut {
    pub body: &'static str,
    pub done: &'static str,
}

/// What a [`FanOut`] node emits on its body port: the items, and how many may run at once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FanOutItems {
    pub items: Vec<Value>,
    pub concurrency: usize,
}

impl NodeSpec {
    /// A non-branching, non-trigger node with no code fields.
    pub fn new(kind: &'static str, display_name: &'static str, category: &'static str) -> Self {
        Self {
            kind,
            display_name,
            category,
            description: "",
            config_schema: serde_json::json!({"type": "object"}),
            outputs: vec![MAIN_PORT],
            dynamic_outputs: false,
            is_trigger: false,
            keyed_input: false,
            code_fields: Vec::new(),
            docs: "",
            answers_webhook: false,
            side_effects: false,
            fan_out: None,
        }
    }

    pub fn has_port(&self, port: &str) -> bool {
        self.outputs.contains(&port)
    }

    /// The example nodes of the docs: each ```` ```json ```` block that is a node of this
    /// type.
    pub fn examples(&self) -> Vec<Value> {
        self.docs
            .split("```json\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .filter_map(|text| serde_json::from_str::<Value>(text).ok())
            .filter(|node| node["type"] == self.kind)
            .collect()
    }
}

/// Everything a running node may use besides its config and input.
#[derive(Clone)]
pub struct NodeContext {
    pub execution_id: ExecutionId,
    pub workflow_id: WorkflowId,
    pub node_id: String,
    /// 1 for the first try, incremented on each retry.
    pub attempt: u32,
    /// Cancelled when the execution is cancelled or the step times out; long nodes select on it.
    pub cancel: CancellationToken,
    /// The expression and code sandbox.
    pub expressions: Expressions,
    /// The data expressions see (`$json`, `$trigger`, `$node`, ...), for code nodes.
    pub scope: Arc<Scope>,
    /// When the step suspended earlier ([`NodeError::suspend`]) and the execution resumed:
    /// what the step recorded then (`{"wait": …}`, plus `"decision"` once someone decided).
    pub resume: Option<Value>,
    /// Credentials, the workflow's key-value store and other workflows.
    pub services: Arc<dyn NodeServices>,
    /// The execution is a dry run: a node with [`NodeSpec::side_effects`] does everything up
    /// to the outside effect and then completes with a preview of it instead of acting
    /// (`{"dry_run": true, "would_send": …}`, secrets redacted). Reads still run.
    pub dry_run: bool,
}

impl NodeContext {
    /// Stable across retries and crash recovery, so a node can make outside effects idempotent.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}", self.execution_id, self.node_id)
    }

    /// Credential `id`, decrypted, when its type is one of `kinds`; otherwise a fatal error
    /// that starts with `who` (the node type) and names what it takes.
    pub async fn credential(
        &self,
        who: &str,
        id: &str,
        kinds: &[&str],
    ) -> Result<crate::Credential, NodeError> {
        self.services
            .credential(id)
            .await?
            .expect_kind(kinds)
            .map_err(|e| NodeError::fatal(format!("{who}: {e}")))
    }
}

impl std::fmt::Debug for NodeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeContext")
            .field("execution_id", &self.execution_id)
            .field("node_id", &self.node_id)
            .field("attempt", &self.attempt)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// A node's result: one JSON value on one output port.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOutput {
    pub port: String,
    pub data: Value,
}

impl NodeOutput {
    pub fn main(data: Value) -> Self {
        Self {
            port: MAIN_PORT.to_owned(),
            data,
        }
    }

    pub fn on(port: &str, data: Value) -> Self {
        Self {
            port: port.to_owned(),
            data,
        }
    }
}

/// Whether trying again may help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// A transient failure (timeout, connection reset, 5xx, 429): the retry policy applies.
    Retryable,
    /// Trying again gives the same result (bad config, 4xx, script error): fail now.
    Fatal,
    /// Not a failure: the step waits (see [`Wait`]) and runs again when the execution resumes.
    Suspended,
}

/// What a suspended step waits for. The execution is parked (no worker, no connection held)
/// until the earliest resume time of its waiting steps, or until a decision makes it due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Wait {
    /// Resume at `until` (`flow.delay`).
    Delay { until: DateTime<Utc> },
    /// Resume when someone approves or rejects (`flow.approval`); at `expires_at`, if given,
    /// resume anyway so the node can time out.
    Approval {
        message: String,
        expires_at: Option<DateTime<Utc>>,
    },
}

impl Wait {
    /// When the execution must run again without outside help (`None`: only a decision).
    pub fn resume_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Delay { until } => Some(*until),
            Self::Approval { expires_at, .. } => *expires_at,
        }
    }
}

/// A failed step.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    pub class: ErrorClass,
    pub message: String,
    /// Structured detail (e.g. the HTTP response) kept in the step log.
    pub data: Option<Value>,
    /// Set when the class is [`ErrorClass::Suspended`].
    pub wait: Option<Wait>,
}

impl NodeError {
    pub fn fatal(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Fatal,
            message: message.into(),
            data: None,
            wait: None,
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            class: ErrorClass::Retryable,
            message: message.into(),
            data: None,
            wait: None,
        }
    }

    /// Suspends the step until `wait` is over; the node runs again then, with
    /// [`NodeContext::resume`] set.
    pub fn suspend(wait: Wait) -> Self {
        let message = match &wait {
            Wait::Delay { until } => format!("waiting until {}", until.to_rfc3339()),
            Wait::Approval { .. } => "waiting for approval".to_owned(),
        };
        Self {
            class: ErrorClass::Suspended,
            message,
            data: None,
            wait: Some(wait),
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }

    /// The error as the JSON object a `continue` or `route` error handler passes on.
    pub fn to_value(&self) -> Value {
        let mut v = serde_json::json!({"error": {"message": self.message, "class": self.class}});
        if let Some(data) = &self.data {
            v["error"]["data"] = data.clone();
        }
        v
    }
}

/// Deserializes a node's (already expanded) config into its typed form.
pub fn parse_config<T: DeserializeOwned>(config: Value) -> Result<T, NodeError> {
    serde_json::from_value(config).map_err(|e| NodeError::fatal(format!("invalid config: {e}")))
}

/// A problem [`Node::check_config`] found: `field` is the path inside the config (`cron`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    pub field: String,
    pub issue: String,
}

impl ConfigIssue {
    /// What `check` finds in `config` read as the node's typed config `T`; nothing when it
    /// does not read (the schema has said what is wrong). For [`Node::check_config`].
    pub fn of<T: DeserializeOwned>(
        config: &Value,
        check: impl FnOnce(T) -> Vec<ConfigIssue>,
    ) -> Vec<ConfigIssue> {
        serde_json::from_value::<T>(config.clone()).map_or_else(|_| Vec::new(), check)
    }

    /// The first of `issues` as a fatal error of node type `who` (`data.kv: `key` must …`):
    /// a config built by expressions is checked when the node runs, as a literal one was when
    /// the workflow was saved.
    pub fn refuse(who: &str, issues: Vec<ConfigIssue>) -> Result<(), NodeError> {
        match issues.into_iter().next() {
            Some(i) => Err(NodeError::fatal(format!(
                "{who}: `{}` {}",
                i.field, i.issue
            ))),
            None => Ok(()),
        }
    }
}

/// A node type. Implementations keep their typed config private and parse it with
/// [`parse_config`]; the engine only ever passes JSON.
#[async_trait]
pub trait Node: Send + Sync + 'static {
    /// Called once when the node is registered.
    fn spec(&self) -> NodeSpec;

    /// What is wrong with a config that passed the schema, beyond what a schema can say (a
    /// cron pattern, a time zone). Called at validation, only for configs without `{{ }}`
    /// templates.
    fn check_config(&self, _config: &Value) -> Vec<ConfigIssue> {
        Vec::new()
    }

    /// The output ports of a node with this config, for a node type whose spec sets
    /// [`NodeSpec::dynamic_outputs`]; `None` (the default): the spec's fixed `outputs`.
    ///
    /// Called at validation for every config that passed the schema, templates included (port
    /// names must be literal: the validator refuses a name that is not a [`PORT_NAME_PATTERN`]
    /// or is [`ERROR_PORT`]), and only then; so a node emits only on a port its config names.
    fn outputs(&self, _config: &Value) -> Option<Vec<String>> {
        None
    }

    /// Runs one step. `config` has had its `{{ }}` templates expanded (except code fields);
    /// `input` is the predecessor's output (an object keyed by predecessor id when several).
    /// By default the input is the output, on `main`: what a trigger (whose input is the
    /// execution input) and a pass-through node do.
    async fn execute(
        &self,
        _ctx: &NodeContext,
        _config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}
