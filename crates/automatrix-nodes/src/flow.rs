//! Flow nodes that wait durably: `flow.delay` (until a time) and `flow.approval` (until someone
//! approves or rejects). Both suspend their step ([`NodeError::suspend`]); the engine parks the
//! execution — no worker, no connection held, nothing lost across restarts — and runs the node
//! again when the wait may be over, with what it recorded in [`NodeContext::resume`].
//! `flow.subworkflow` (in [`subworkflow`]) waits too, but inside its step, for another
//! workflow's execution.

mod subworkflow;

pub use subworkflow::FlowSubworkflow;

use async_trait::async_trait;
use automatrix_core::node::{Wait, parse_config};
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The wait a resumed step recorded, if any.
fn recorded_wait(ctx: &NodeContext) -> Option<Wait> {
    ctx.resume
        .as_ref()
        .and_then(|r| serde_json::from_value(r.get("wait")?.clone()).ok())
}

/// Passes its input on unchanged: a place to join branches or to hang a note on the canvas.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowNoop;

impl FlowNoop {
    pub const KIND: &'static str = "flow.noop";
}

const NOOP_DOCS: &str = r#"Does nothing: its output is its input. A place to join branches without merging them, to name a point of the flow, or to keep a branch on the canvas while it is being built.

**Output:** the input, unchanged.

**Example**

```json
{"id": "next_steps", "type": "flow.noop", "config": {}}
```
"#;

#[async_trait]
impl Node for FlowNoop {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Passes its input on unchanged.",
            config_schema: json!({
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }),
            docs: NOOP_DOCS,
            ..NodeSpec::new(Self::KIND, "No Operation", "flow")
        }
    }
}

/// Ends its branch: with success (the branch's data is its output) or with an error that
/// fails the step.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowStop;

impl FlowStop {
    pub const KIND: &'static str = "flow.stop";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StopConfig {
    #[serde(default)]
    error: bool,
    #[serde(default)]
    message: Option<String>,
}

const STOP_DOCS: &str = r#"Ends its branch, with success or with an error: "a duplicate lead: stop here", "no consent to text: stop with an error".

**Success** (`error: false`, the default): the step completes with its input as its output, and no node can follow it (the validator refuses an edge from it). Other branches of the workflow go on.

**Error** (`error: true`): the step fails with `message` (default "stopped"), and the node's `on_error` applies as for any failure: by default the execution fails (and starts its error workflow, if it names one).

**Example**

```json
{"id": "duplicate", "type": "flow.stop", "config": {"message": "duplicate lead"}}
```
"#;

#[async_trait]
impl Node for FlowStop {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Ends its branch, with success or with an error message.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "error": {"description": "Fail the step (true) instead of ending with success.", "type": "boolean", "default": false},
                    "message": {"description": "Why it stopped; the error message when `error` is true.", "type": "string"},
                },
                "additionalProperties": false,
            }),
            outputs: Vec::new(),
            docs: STOP_DOCS,
            ..NodeSpec::new(Self::KIND, "Stop", "flow")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: StopConfig = parse_config(config)?;
        if config.error {
            return Err(NodeError::fatal(
                config.message.unwrap_or_else(|| "stopped".to_owned()),
            ));
        }
        Ok(NodeOutput::main(input))
    }
}

/// Waits until a time, then passes its input on.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowDelay;

impl FlowDelay {
    pub const KIND: &'static str = "flow.delay";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayConfig {
    duration_ms: Option<u64>,
    until: Option<String>,
}

/// Longest delay: a year.
const MAX_DELAY_MS: u64 = 365 * 24 * 3600 * 1000;

const DELAY_DOCS: &str = r#"Waits, then passes its input on unchanged. The wait is durable: the execution is `waiting` (no worker or connection is held), survives restarts, and resumes on time.

Give exactly one of `duration_ms` (from when the step starts) or `until` (an ISO-8601 time, often an expression). A time in the past does not wait.

**Dry run:** a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) checks the config and then does not wait: the input is passed on at once, so the dry run goes on to show what would happen after the wait.

**Example:** follow up three days after a test drive:

```json
{"id": "wait3d", "type": "flow.delay", "config": {"duration_ms": 259200000}}
```
"#;

#[async_trait]
impl Node for FlowDelay {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Waits for a duration or until a time, durably, then passes its input on.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "duration_ms": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_MS, "description": "How long to wait, in milliseconds (at most a year)."},
                    "until": {"type": "string", "description": "When to resume: an ISO-8601 date-time, e.g. `2026-12-01T09:00:00Z` or an expression."},
                },
                "oneOf": [{"required": ["duration_ms"]}, {"required": ["until"]}],
                "additionalProperties": false,
            }),
            docs: DELAY_DOCS,
            ..NodeSpec::new(Self::KIND, "Delay", "flow")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let until = match recorded_wait(ctx) {
            Some(Wait::Delay { until }) => until,
            _ => {
                let config: DelayConfig = parse_config(config)?;
                due_time(&config, Utc::now())?
            }
        };
        // A dry run shows what happens after the wait, without waiting.
        if ctx.dry_run || Utc::now() >= until {
            return Ok(NodeOutput::main(input));
        }
        Err(NodeError::suspend(Wait::Delay { until }))
    }
}

fn due_time(config: &DelayConfig, now: DateTime<Utc>) -> Result<DateTime<Utc>, NodeError> {
    match (config.duration_ms, &config.until) {
        (Some(ms), None) if ms <= MAX_DELAY_MS => {
            Ok(now + chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)))
        }
        (Some(_), None) => Err(NodeError::fatal(
            "flow.delay: duration_ms is longer than a year",
        )),
        (None, Some(text)) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                NodeError::fatal(format!(
                    "flow.delay: until `{text}` is not an ISO-8601 date-time"
                ))
            }),
        _ => Err(NodeError::fatal(
            "flow.delay: give exactly one of duration_ms or until",
        )),
    }
}

/// Waits for a person to approve or reject.
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowApproval;

impl FlowApproval {
    pub const KIND: &'static str = "flow.approval";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalConfig {
    message: String,
    timeout_ms: Option<u64>,
}

const APPROVAL_DOCS: &str = r#"Stops the execution until a person decides, durably (the execution is `waiting`; nothing is held while it waits).

Decide with `POST /api/executions/{id}/steps/{node_id}/approve` or `/reject`, body `{"data": …}`:
- approve: the step completes and its output is the approver's `data` (or `{"approved": true}` when none is given);
- reject: the step fails with "approval rejected" and the data attached; `on_error` decides what happens (`route` sends it down the `error` port).

With `timeout_ms`, an undecided approval fails with "approval timed out" when the time is up.

**Dry run:** a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) asks nobody and does not wait: the step completes on `main` as approved, with `{"approved": true, "dry_run": true, "would_ask": {"message": "…", "expires_at": "…" or null}}`, so the dry run goes on down the approved path. The rejected path is tried with a real run (rejecting it).

**Example:** a manager approves a discount above 5 %:

```json
{"id": "manager", "type": "flow.approval", "config": {"message": "Approve {{ $json.discount }} % off for {{ $json.customer }}?", "timeout_ms": 86400000}, "on_error": "route"}
```
"#;

#[async_trait]
impl Node for FlowApproval {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Waits for a person to approve or reject, durably; the approver's data becomes the output.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "message": {"type": "string", "minLength": 1, "description": "What the approver is asked."},
                    "timeout_ms": {"type": "integer", "minimum": 1, "maximum": MAX_DELAY_MS, "description": "Fail with `approval timed out` when nobody decided within this many milliseconds."},
                },
                "required": ["message"],
                "additionalProperties": false,
            }),
            docs: APPROVAL_DOCS,
            ..NodeSpec::new(Self::KIND, "Approval", "flow")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        if let Some(decision) = ctx.resume.as_ref().and_then(|r| r.get("decision")) {
            let data = decision.get("data").cloned().unwrap_or(Value::Null);
            return if decision.get("approved").and_then(Value::as_bool) == Some(true) {
                Ok(NodeOutput::main(if data.is_null() {
                    json!({"approved": true})
                } else {
                    data
                }))
            } else {
                Err(NodeError::fatal("approval rejected").with_data(json!({"decision": decision})))
            };
        }
        let wait = match recorded_wait(ctx) {
            Some(wait @ Wait::Approval { .. }) => wait,
            _ => {
                let config: ApprovalConfig = parse_config(config)?;
                let expires_at = match config.timeout_ms {
                    Some(ms) if ms <= MAX_DELAY_MS => {
                        Some(Utc::now() + chrono::Duration::milliseconds(ms as i64))
                    }
                    Some(_) => {
                        return Err(NodeError::fatal(
                            "flow.approval: timeout_ms is longer than a year",
                        ));
                    }
                    None => None,
                };
                Wait::Approval {
                    message: config.message,
                    expires_at,
                }
            }
        };
        if let Wait::Approval {
            expires_at: Some(at),
            ..
        } = &wait
            && Utc::now() >= *at
        {
            return Err(NodeError::fatal("approval timed out"));
        }
        // A dry run asks nobody: it takes the approved path, showing what would be asked.
        if ctx.dry_run
            && let Wait::Approval {
                message,
                expires_at,
            } = wait
        {
            return Ok(NodeOutput::main(json!({
                "approved": true,
                "dry_run": true,
                "would_ask": {"message": message, "expires_at": expires_at},
            })));
        }
        Err(NodeError::suspend(wait))
    }
}

#[cfg(test)]
mod tests;
