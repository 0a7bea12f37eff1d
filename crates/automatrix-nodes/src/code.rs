//! Code nodes: `code.js`, a JavaScript function body run in the expression sandbox.
//!
//! The body runs on the sandbox pool with the same scope as expressions (`$json`, `$trigger`,
//! `$node`, `$vars`, `$execution`, `$now`) and the same isolation: no I/O, a memory limit and
//! a wall-clock limit. Every script failure is fatal: running the same code on the same data
//! again gives the same result.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::expr::{ExprError, Scope};
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

/// Runs a JavaScript function body; its `return` value is the node's output.
#[derive(Clone, Copy, Debug, Default)]
pub struct CodeJs;

impl CodeJs {
    pub const KIND: &'static str = "code.js";
    pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
    pub const MAX_TIMEOUT_MS: u64 = 30_000;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeConfig {
    code: String,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    CodeJs::DEFAULT_TIMEOUT_MS
}

const DOCS: &str = r#"Runs JavaScript for what expressions cannot say in one line: loops, several statements, helper functions.

**Code:** the body of a function; its `return` value is the node's output (no `return`, or `undefined`, gives `null`). It sees `$json` (the input), `$trigger`, `$node`, `$vars`, `$execution` and `$now`, like expressions do. `code` is not a template: `{{ }}` in it is left alone.

**Sandbox:** no I/O (no `fetch`, no `require`, no timers), frozen built-in objects, a memory limit, and `timeout_ms` of wall-clock time per run.

**Output:** the returned value (JSON), on `main`.

**Errors** (fatal): a syntax error, a thrown exception, running longer than `timeout_ms`, exceeding the memory or stack limit, a result that is not JSON-serializable. The message says which, e.g. `code.js: script ran longer than its limit of 100ms`.

**Example**

```json
{
  "id": "score",
  "type": "code.js",
  "config": {
    "code": "const lead = $json.body;\nlet score = 0;\nif (lead.phone) score += 20;\nif ((lead.vehicle_interest || '').length > 0) score += 30;\nreturn { ...lead, score };",
    "timeout_ms": 1000
  }
}
```
"#;

#[async_trait]
impl Node for CodeJs {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Runs a JavaScript function body in the sandbox; its return value is the output.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "code": {
                        "description": "JavaScript function body; `return` gives the output. Sees `$json`, `$trigger`, `$node`, `$vars`, `$execution`, `$now`.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "timeout_ms": {
                        "description": "Wall-clock limit of one run, in milliseconds.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": Self::MAX_TIMEOUT_MS,
                        "default": Self::DEFAULT_TIMEOUT_MS,
                    },
                },
                "required": ["code"],
                "additionalProperties": false,
            }),
            code_fields: vec!["code"],
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "JavaScript Code", "code")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: CodeConfig = parse_config(config)?;
        // `timeout_ms` may have come from an expression, which the schema does not check.
        if !(1..=Self::MAX_TIMEOUT_MS).contains(&config.timeout_ms) {
            return Err(NodeError::fatal(format!(
                "code.js: timeout_ms must be between 1 and {}, got {}",
                Self::MAX_TIMEOUT_MS,
                config.timeout_ms
            )));
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        run_script(ctx, "code.js", &config.code, ctx.scope.clone(), timeout)
            .await
            .map(NodeOutput::main)
    }
}

/// Runs a function body in the sandbox with `scope`; on cancel, stops waiting (the sandbox
/// thread stops the script at its own deadline). `label` starts every error message.
pub(crate) async fn run_script(
    ctx: &NodeContext,
    label: &str,
    code: &str,
    scope: Arc<Scope>,
    timeout: Duration,
) -> Result<Value, NodeError> {
    let run = ctx.expressions.run_code(code, scope, timeout);
    tokio::select! {
        result = run => result.map_err(|e| script_error(label, e)),
        () = ctx.cancel.cancelled() => Err(NodeError::retryable(format!(
            "{label}: cancelled before the script finished"
        ))),
    }
}

/// Maps a sandbox error to a step error. The messages leave out the script's source, which
/// the user already has and which would bury the reason in a long body.
fn script_error(label: &str, e: ExprError) -> NodeError {
    match e {
        ExprError::Syntax { message, .. } => {
            NodeError::fatal(format!("{label}: syntax error: {message}"))
        }
        ExprError::Runtime { message, .. } => {
            NodeError::fatal(format!("{label}: script failed: {message}"))
        }
        e @ (ExprError::Timeout(_)
        | ExprError::MemoryLimit
        | ExprError::StackOverflow
        | ExprError::Unclosed(_)) => NodeError::fatal(format!("{label}: {e}")),
        // The sandbox pool itself failed, not the script: another attempt may succeed.
        e @ ExprError::Internal(_) => NodeError::retryable(format!("{label}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use automatrix_core::expr::{Expressions, Limits};

    use super::*;
    use crate::test_support::{ctx_with_input, run};

    #[tokio::test]
    async fn code_returns_a_value_computed_from_its_input() {
        let code = "let score = 0;\nfor (const c of $json.cars) score += c.price;\nreturn { total: score, n: $json.cars.length };";
        let input = json!({"cars": [{"price": 100}, {"price": 250}]});

        let out = run(&CodeJs, json!({"code": code}), input).await.unwrap();

        assert_eq!(out, NodeOutput::main(json!({"total": 350, "n": 2})));
    }

    #[tokio::test]
    async fn code_without_a_return_outputs_null() {
        let out = run(&CodeJs, json!({"code": "const x = 1;"}), json!({}))
            .await
            .unwrap();

        assert_eq!(out.data, Value::Null);
    }

    #[tokio::test]
    async fn code_sees_the_execution_scope() {
        let code = "return [$execution.attempt, $now, $trigger.lead];";

        let out = run(&CodeJs, json!({"code": code}), json!({"lead": 7}))
            .await
            .unwrap();

        assert_eq!(out.data, json!([1, "2026-01-01T00:00:00Z", 7]));
    }

    #[tokio::test]
    async fn a_thrown_exception_is_a_fatal_error_naming_the_exception() {
        let code = "throw new Error('no VIN on this lead');";

        let err = run(&CodeJs, json!({"code": code}), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert!(
            err.message.starts_with("code.js: script failed:"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("no VIN on this lead"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_syntax_error_is_a_fatal_error() {
        let err = run(&CodeJs, json!({"code": "return {;"}), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert!(
            err.message.starts_with("code.js: syntax error:"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_script_that_runs_too_long_is_stopped_at_its_timeout() {
        let config = json!({"code": "while (true) {}", "timeout_ms": 100});
        let started = Instant::now();

        let err = run(&CodeJs, config, json!({})).await.unwrap_err();

        assert!(!err.is_retryable());
        assert_eq!(
            err.message,
            "code.js: script ran longer than its limit of 100ms"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_script_that_allocates_too_much_hits_the_memory_limit() {
        let code = "const a = []; while (true) a.push('x'.repeat(1024) + a.length); return a;";

        let err = run(&CodeJs, json!({"code": code}), json!({}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert_eq!(err.message, "code.js: script exceeded its memory limit");
    }

    #[tokio::test]
    async fn a_timeout_outside_the_allowed_range_is_refused() {
        let config = json!({"code": "return 1;", "timeout_ms": 60_000});

        let err = run(&CodeJs, config, json!({})).await.unwrap_err();

        assert_eq!(
            err.message,
            "code.js: timeout_ms must be between 1 and 30000, got 60000"
        );
    }

    #[tokio::test]
    async fn cancelling_stops_waiting_for_the_script() {
        let mut ctx = ctx_with_input("step", &json!({}));
        // Its own pool, so the abandoned script does not hold up the other tests' sandboxes.
        ctx.expressions = Expressions::new(1, Limits::default());
        let cancel = ctx.cancel.clone();
        let config = json!({"code": "while (true) {}", "timeout_ms": 3_000});
        let started = Instant::now();

        let (result, ()) = tokio::join!(CodeJs.execute(&ctx, config, json!({})), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            cancel.cancel();
        });

        assert!(result.unwrap_err().message.contains("cancelled"));
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn code_is_declared_as_a_code_field_so_it_is_not_expanded_as_a_template() {
        assert_eq!(CodeJs.spec().code_fields, ["code"]);
    }
}
