//! The workflow definition as a user writes it (DESIGN.md §3). These types are the parsed
//! form; [`crate::validate`] checks a raw JSON value first so that every problem is reported
//! with its path instead of stopping at the first serde error.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The nodes of a stored (already validated) definition as JSON, for reading a node's
/// settings on a hot path without parsing the whole definition.
pub fn raw_nodes(definition: &Value) -> impl Iterator<Item = &Value> {
    definition["nodes"].as_array().into_iter().flatten()
}

/// The config of the first node of type `kind` in a stored definition (`null` when it has
/// none), or `None` without such a node.
pub fn raw_config<'a>(definition: &'a Value, kind: &str) -> Option<&'a Value> {
    raw_nodes(definition)
        .find(|n| n["type"] == kind)
        .map(|n| &n["config"])
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkflowDefinition {
    pub nodes: Vec<NodeDef>,
    #[serde(default, alias = "connections")]
    pub edges: Vec<EdgeDef>,
    /// Workflow variables, visible to expressions as `$vars`.
    #[serde(default)]
    pub variables: Map<String, Value>,
    #[serde(default)]
    pub settings: Settings,
}

/// Workflow-wide settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Upper bound for the whole execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// A workflow (same organization) started with the failure details when an execution of
    /// this one fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_workflow_id: Option<uuid::Uuid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeDef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default = "empty_object")]
    pub config: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub on_error: OnError,
    /// Canvas position; the engine ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Value>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeDef {
    pub from: String,
    /// The source's output port; `None` means its main port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub to: String,
}

/// How a failed step is retried.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    #[serde(default)]
    pub backoff: Backoff,
    #[serde(default = "default_initial_delay")]
    pub initial_delay_ms: u64,
    #[serde(default = "default_max_delay")]
    pub max_delay_ms: u64,
}

fn default_initial_delay() -> u64 {
    1000
}

fn default_max_delay() -> u64 {
    60_000
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    Fixed,
    #[default]
    Exponential,
}

/// What a step failure does to the execution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The execution fails.
    #[default]
    Fail,
    /// The step completes with the error object as its output.
    Continue,
    /// The error object is emitted on the node's `error` port.
    Route,
}

impl RetryPolicy {
    /// The delay before attempt `next_attempt` (2 for the first retry), without jitter.
    pub fn base_delay_ms(&self, next_attempt: u32) -> u64 {
        let delay = match self.backoff {
            Backoff::Fixed => self.initial_delay_ms,
            Backoff::Exponential => {
                let exp = next_attempt.saturating_sub(2).min(32);
                self.initial_delay_ms.saturating_mul(1u64 << exp)
            }
        };
        delay.min(self.max_delay_ms)
    }
}

impl WorkflowDefinition {
    pub fn node(&self, id: &str) -> Option<&NodeDef> {
        self.nodes.iter().find(|n| n.id == id)
    }
}
