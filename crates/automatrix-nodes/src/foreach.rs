//! `logic.foreach`: runs the nodes after its `item` port once per item of a list, a bounded
//! number at a time, and emits the collected results on its `done` port.
//!
//! The node itself only turns its config into the item list; the engine runs the body (see
//! [`automatrix_core::FanOut`]), so every body step is checkpointed like any other step.

use async_trait::async_trait;
use automatrix_core::node::{FanOut, FanOutItems, parse_config};
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

/// Runs its body (the nodes after its `item` port) once per item, then emits the results.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogicForeach;

impl LogicForeach {
    pub const KIND: &'static str = "logic.foreach";
    /// The port the body hangs from: each item goes down it.
    pub const ITEM_PORT: &'static str = "item";
    /// The port taken once every item is done, with the results.
    pub const DONE_PORT: &'static str = "done";
    /// Most items one loop takes: each item's steps are recorded, so a loop is bounded.
    pub const MAX_ITEMS: usize = 1000;
    pub const MAX_CONCURRENCY: u64 = 32;
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForeachConfig {
    items: Value,
    #[serde(default = "default_concurrency")]
    concurrency: Value,
}

fn default_concurrency() -> Value {
    json!(4)
}

const DOCS: &str = r#"Runs part of the workflow once per item of a list, a few items at a time, and collects the results in order. Enrich each vehicle of a trade-in batch, look up each lead of an import, send each customer of a recall list a message.

**Items:** a list, usually an expression such as `{{ $json.vehicles }}`. Anything else fails the step; an empty list goes straight to `done` with no results. At most 1000 items.

**The body** is every node reachable from the `item` port. It runs once per item, with the item as the input (`$json`) of the nodes the `item` port leads to; inside the body, `$node["<foreach id>"]` is `{"item": ..., "index": n, "count": total}` (index from 0), and `$node["<body node>"]` is that node's output *for the same item*. A body is closed: no edge may enter it from outside (not even from `done`), so nothing after `done` waits on a single item. A body may branch (`logic.if`, `logic.switch`: the nodes not taken are skipped for that item), merge, retry and route errors. It may not hold another `logic.foreach` (loops do not nest) nor `respond.webhook` (it would answer once per item). A `flow.delay` or `flow.approval` in the body parks the whole loop until it is over.

**Concurrency:** at most `concurrency` items (1 to 32, default 4) run at the same time; `1` runs them one after another, in order. Results are always in input order, whatever order the items finish in.

**Output** (on `done`): `{"results": [...], "count": n}`; per item, the output of the body's last node (the body node with no outgoing edge that completed), or an object keyed by node id when several did, or `null` when none did (every branch skipped). With no body, each result is the item.

**Step log:** each body step is recorded under its node id and the item index: `enrich[0]`, `enrich[1]`, ... The foreach step shows `running` while the items run. When the execution resumes (a crashed worker, a retry of a failed execution, the end of a wait), the foreach evaluates its items again and reuses every body step that completed (matched by item index), so only what is left runs.

**Errors:** `items` not a list, more than 1000 items, `concurrency` out of range (fatal). When a body step fails (after its own retries) and its `on_error` is `fail`, the other items are cancelled and the foreach fails with `item <index>: ...` in the message and `{"index": n}` in the error data; then the foreach's own `on_error` applies (`route` sends the error object to the `error` port). A body node with `on_error: "continue"` or `"route"` handles its item's failure itself.

**Example**

```json
{"id": "each_vehicle", "type": "logic.foreach", "config": {"items": "{{ $json.vehicles }}", "concurrency": 3}}
```

with the edges `{"from": "each_vehicle", "output": "item", "to": "decode"}` (the body: `decode` runs `dealer.vin_decode` on `{{ $json.vin }}` for each vehicle) and `{"from": "each_vehicle", "output": "done", "to": "report"}` (`report` gets `{"results": [decoded vehicle 0, 1, 2], "count": 3}`).
"#;

#[async_trait]
impl Node for LogicForeach {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Runs the nodes after its `item` port once per item of a list, a bounded number at a time, then emits the results in order on `done`.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "items": {
                        "description": "The list to loop over, usually an expression such as `{{ $json.vehicles }}`.",
                        "type": "array",
                        "maxItems": Self::MAX_ITEMS,
                    },
                    "concurrency": {
                        "description": "How many items run at the same time; 1 runs them one after another.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": Self::MAX_CONCURRENCY,
                        "default": 4,
                    },
                },
                "required": ["items"],
                "additionalProperties": false,
            }),
            outputs: vec![Self::ITEM_PORT, Self::DONE_PORT],
            fan_out: Some(FanOut {
                body: Self::ITEM_PORT,
                done: Self::DONE_PORT,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "For Each", "logic")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: ForeachConfig = parse_config(config)?;
        let Value::Array(items) = config.items else {
            return Err(NodeError::fatal(format!(
                "`items` must be a list; got {}",
                kind_of(&config.items)
            )));
        };
        if items.len() > Self::MAX_ITEMS {
            return Err(NodeError::fatal(format!(
                "`items` has {} items; a loop takes at most {}",
                items.len(),
                Self::MAX_ITEMS
            )));
        }
        let concurrency = config
            .concurrency
            .as_u64()
            .filter(|c| (1..=Self::MAX_CONCURRENCY).contains(c))
            .ok_or_else(|| {
                NodeError::fatal(format!(
                    "`concurrency` must be an integer from 1 to {}; got {}",
                    Self::MAX_CONCURRENCY,
                    config.concurrency
                ))
            })?;
        let out = FanOutItems {
            items,
            concurrency: usize::try_from(concurrency).unwrap_or(1),
        };
        let data = serde_json::to_value(out).map_err(|e| NodeError::fatal(e.to_string()))?;
        Ok(NodeOutput::on(Self::ITEM_PORT, data))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn foreach_emits_its_items_and_concurrency_on_the_item_port() {
        let out = run(
            &LogicForeach,
            json!({"items": [{"vin": "A"}, {"vin": "B"}], "concurrency": 2}),
            json!({}),
        )
        .await
        .unwrap();

        assert_eq!(
            out,
            NodeOutput::on(
                "item",
                json!({"items": [{"vin": "A"}, {"vin": "B"}], "concurrency": 2})
            )
        );
    }

    #[tokio::test]
    async fn foreach_runs_four_items_at_a_time_by_default() {
        let out = run(&LogicForeach, json!({"items": []}), json!({}))
            .await
            .unwrap();

        assert_eq!(out.data["concurrency"], 4);
    }

    #[tokio::test]
    async fn foreach_refuses_what_is_not_a_list_and_a_concurrency_out_of_range() {
        let not_a_list = run(&LogicForeach, json!({"items": {"vin": "A"}}), json!({}))
            .await
            .unwrap_err();
        let too_many = run(
            &LogicForeach,
            json!({"items": [], "concurrency": 33}),
            json!({}),
        )
        .await
        .unwrap_err();
        let huge = run(
            &LogicForeach,
            json!({"items": vec![json!(1); LogicForeach::MAX_ITEMS + 1]}),
            json!({}),
        )
        .await
        .unwrap_err();

        assert_eq!(not_a_list.message, "`items` must be a list; got an object");
        assert!(
            too_many.message.contains("from 1 to 32; got 33"),
            "{}",
            too_many.message
        );
        assert!(huge.message.contains("at most 1000"), "{}", huge.message);
    }
}
