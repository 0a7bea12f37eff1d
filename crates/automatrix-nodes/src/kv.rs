//! `data.kv`: the workflow's persistent key-value store, shared by all of its executions — for
//! "have we seen this lead before?" checks, counters and small bits of state between runs.
//! The node only shapes the call; the engine's [`NodeServices`](automatrix_core::NodeServices)
//! keeps the entries, scoped to the run's organization and workflow.

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, KvOp, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fields::present;

/// Reads and writes the workflow's key-value entries.
#[derive(Clone, Copy, Debug, Default)]
pub struct DataKv;

impl DataKv {
    pub const KIND: &'static str = "data.kv";
}

/// Longest key, in characters.
const MAX_KEY_CHARS: usize = 512;
/// Largest value stored, as JSON text: an entry is state, not a document store.
const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest time to live: ten years.
const MAX_TTL_SECONDS: u64 = 10 * 365 * 24 * 3600;

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Get,
    Set,
    Increment,
    Delete,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Set => "set",
            Self::Increment => "increment",
            Self::Delete => "delete",
        }
    }

    /// The optional fields an operation reads; any other one given is a mistake.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Get => &["default"],
            Self::Set => &["value", "ttl_seconds", "only_if_absent"],
            Self::Increment => &["by", "ttl_seconds"],
            Self::Delete => &[],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KvConfig {
    operation: Operation,
    key: String,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    default: Option<Value>,
    #[serde(default)]
    by: Option<f64>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    only_if_absent: bool,
}

const DOCS: &str = r#"Keeps small values between executions of the workflow: "have we seen this lead before?", how many texts a customer got today, the last inventory sync time. Entries belong to the workflow: every execution of it sees them, no other workflow (nor another organization) does.

**Operations** (`operation`), each on one `key` (1 to 512 characters, usually built with an expression such as `lead:{{ $json.lead_id }}`):

- `get`: output `{key, value, found}`. `value` is the stored value, or `default` (null unless given) when the key is absent or expired.
- `set`: stores `value` (any JSON, at most 64 KiB as JSON text). Output `{key, value, stored}`. With `only_if_absent: true` a live entry is left alone: `stored` is false and `value` is the entry's value (the dedupe check: the first execution stores, every later one sees `stored: false`). Without it, `set` replaces the value and its expiry.
- `increment`: adds `by` (default 1; negative to count down, fractions allowed) to a number, an absent or expired key counting as 0. Output `{key, value}`: the new number. Increments are atomic: concurrent executions never lose a count. A key holding something other than a number fails the step.
- `delete`: removes the key. Output `{key, deleted}`: whether a live entry was there.

**Expiry** (`ttl_seconds`, for `set` and `increment`): the entry expires that many seconds after the operation, and an expired entry reads as absent. `set` gives the entry a new expiry each time (none without `ttl_seconds`). `increment` sets the expiry only when it creates the entry (or starts over from an expired one); later increments keep it, so `ttl_seconds: 86400` counts in a fixed 24-hour window from the first increment rather than sliding.

**Errors** (fatal): a field the operation does not use (`by` with `get`...), `set` without `value` (refused already when the workflow is saved, unless the config holds expressions); a key that is empty or too long; a value over 64 KiB; incrementing a value that is not a number. A run without a server (`automatrix run FILE`) has no store and fails the step. The store being unreachable is retryable.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) `get` runs as usual. `set`, `increment` and `delete` check their config and value as for a real run and then write nothing; the step completes on `main` with what it would have done: `{"dry_run": true, "key": "lead:A-1042", "would_send": {"operation": "set", "key": "lead:A-1042", "value": …, "expires_at": "2026-…Z" or null, "only_if_absent": true}}` (`increment`: `{operation, key, by, expires_at}`; `delete`: `{operation, key}`).

`set`, `increment` and `delete` change state that outlives the execution, so the node type is marked as having side effects (the mark is per type: a `get` node carries it too).

**Example:** the lead dedupe. The first execution for a lead id stores it; a repeat within 30 days gets `stored: false`, and a `logic.if` on `{{ $json.stored }}` sends it down its `false` branch (a `flow.stop` "duplicate lead"):

```json
{"id": "first_time", "type": "data.kv", "config": {"operation": "set", "key": "lead:{{ $json.lead_id }}", "value": "{{ $execution.id }}", "only_if_absent": true, "ttl_seconds": 2592000}}
```

Output on the first run `{"key": "lead:A-1042", "value": "0193…", "stored": true}`; on a repeat `{"key": "lead:A-1042", "value": "0193…", "stored": false}` (the first execution's id).

Storing the execution id also tells a repeat from a recovery: were the process to stop between the write and the step's record, the step runs again in the same execution and finds its own entry. A condition of `{{ $json.stored || $json.value === $execution.id }}` treats that as new.
"#;

#[async_trait]
impl Node for DataKv {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Gets, sets, increments or deletes a value kept between executions of the workflow: dedupe checks and counters.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "operation": {"description": "`get` a value, `set` it, `increment` a number, or `delete` the key.", "enum": ["get", "set", "increment", "delete"]},
                    "key": {"description": "The entry's key, e.g. `lead:{{ $json.lead_id }}`.", "type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
                    "value": {"description": "Set (required): the value to store, any JSON up to 64 KiB."},
                    "default": {"description": "Get: the `value` output when the key is absent or expired; null when not given."},
                    "by": {"description": "Increment: the amount to add (negative to subtract).", "type": "number", "default": 1},
                    "ttl_seconds": {"description": "Set, increment: expire the entry this many seconds later (increment: only when it creates the entry, a fixed window).", "type": "integer", "minimum": 1, "maximum": MAX_TTL_SECONDS},
                    "only_if_absent": {"description": "Set: leave a live entry alone (`stored: false`): the dedupe check.", "type": "boolean", "default": false},
                },
                "required": ["operation", "key"],
                "if": {"properties": {"operation": {"const": "set"}}},
                "then": {"required": ["value"]},
                "additionalProperties": false,
            }),
            docs: DOCS,
            side_effects: true,
            ..NodeSpec::new(Self::KIND, "Key-Value Store", "data")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        ConfigIssue::of(config, |c: KvConfig| c.issues())
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: KvConfig = parse_config(config)?;
        ConfigIssue::refuse(Self::KIND, config.issues())?;
        let key = config.key.clone();
        let operation = config.operation;
        let default = config.default.clone();
        let op = config.into_op(Utc::now())?;
        if ctx.dry_run && operation != Operation::Get {
            return Ok(NodeOutput::main(json!({
                "dry_run": true,
                "key": key,
                // The operation and its arguments: `{"operation": "set", "key", …}`.
                "would_send": op,
            })));
        }
        let answer = ctx.services.kv(op).await?;
        let out = match operation {
            Operation::Get => json!({
                "key": key,
                "value": if answer.hit { answer.value } else { default.unwrap_or(Value::Null) },
                "found": answer.hit,
            }),
            Operation::Set => json!({"key": key, "value": answer.value, "stored": answer.hit}),
            Operation::Increment => json!({"key": key, "value": answer.value}),
            Operation::Delete => json!({"key": key, "deleted": answer.hit}),
        };
        Ok(NodeOutput::main(out))
    }
}

impl KvConfig {
    /// What is wrong beyond the schema: fields the operation does not use, a missing value,
    /// and (for configs built by expressions) the limits the schema states. Checked at
    /// validation (literal configs) and again when the node runs.
    fn issues(&self) -> Vec<ConfigIssue> {
        let issue = |field: &str, issue: String| ConfigIssue {
            field: field.to_owned(),
            issue,
        };
        let given = [
            ("value", self.value.is_some()),
            ("default", self.default.is_some()),
            ("by", self.by.is_some()),
            ("ttl_seconds", self.ttl_seconds.is_some()),
            ("only_if_absent", self.only_if_absent),
        ];
        let used = self.operation.fields();
        let mut issues: Vec<ConfigIssue> = given
            .into_iter()
            .filter(|(field, set)| *set && !used.contains(field))
            .map(|(field, _)| {
                let op = self.operation.name();
                issue(field, format!("is not used by operation {op}"))
            })
            .collect();
        if self.operation == Operation::Set && self.value.is_none() {
            issues.push(issue("value", "is required by operation set".into()));
        }
        let chars = self.key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            let why = format!("must be 1 to {MAX_KEY_CHARS} characters long, not {chars}");
            issues.push(issue("key", why));
        }
        if self
            .ttl_seconds
            .is_some_and(|t| t == 0 || t > MAX_TTL_SECONDS)
        {
            let why = format!("must be 1 to {MAX_TTL_SECONDS} seconds (ten years)");
            issues.push(issue("ttl_seconds", why));
        }
        issues
    }

    /// The store operation, with the expiry counted from `now`.
    fn into_op(self, now: DateTime<Utc>) -> Result<KvOp, NodeError> {
        // `issues` has bounded the TTL, so the sum cannot overflow.
        let expires_at = self
            .ttl_seconds
            .map(|s| now + Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX)));
        let key = self.key;
        Ok(match self.operation {
            Operation::Get => KvOp::Get { key },
            Operation::Set => KvOp::Set {
                key,
                value: checked_size(self.value.unwrap_or_default())?,
                expires_at,
                only_if_absent: self.only_if_absent,
            },
            Operation::Increment => KvOp::Increment {
                key,
                by: self.by.unwrap_or(1.0),
                expires_at,
            },
            Operation::Delete => KvOp::Delete { key },
        })
    }
}

/// The value, when its JSON text fits in [`MAX_VALUE_BYTES`].
fn checked_size(value: Value) -> Result<Value, NodeError> {
    let bytes = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
    if bytes > MAX_VALUE_BYTES {
        return Err(fatal(format!(
            "the value is {bytes} bytes as JSON; at most {MAX_VALUE_BYTES} are stored"
        )));
    }
    Ok(value)
}

fn fatal(message: String) -> NodeError {
    NodeError::fatal(format!("data.kv: {message}"))
}

#[cfg(test)]
mod tests;
