//! `logic.filter`: keeps the items of a list for which a condition holds.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::expr::truthy;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::code::run_script;

/// Keeps the items of a list for which a condition holds.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogicFilter;

impl LogicFilter {
    pub const KIND: &'static str = "logic.filter";
}

/// How long the condition may take for one item.
const PER_ITEM: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterConfig {
    items: Value,
    condition: String,
}

const DOCS: &str = r#"Keeps the items of a list for which a condition holds: the leads with a phone number, the vehicles under a price, the appointments of today.

**Items:** the list, usually an expression such as `{{ $json.leads }}`; anything but a list fails the step.

**Condition:** a JavaScript expression, evaluated once per item with `$json` set to the item (the other variables, `$trigger`, `$node`, `$vars`, are the step's). Write it without `{{ }}`: `$json.score > 50`. JavaScript truthiness decides: `false`, `0`, `""`, `null` and `NaN` drop the item.

**Output:** `{items, dropped}`: the kept items in their order, and how many were dropped.

**Errors:** a condition that throws for an item fails the step, naming the item's index.

**Example**

Input `{"leads": [{"email": "ann@buyer.example", "score": 72}, {"email": "bo@buyer.example", "score": 31}]}`:

```json
{"id": "hot_leads", "type": "logic.filter", "config": {"items": "{{ $json.leads }}", "condition": "$json.score > 50"}}
```

Output `{"items": [{"email": "ann@buyer.example", "score": 72}], "dropped": 1}`.
"#;

#[async_trait]
impl Node for LogicFilter {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Keeps the items of a list for which a condition holds.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "items": {
                        "description": "The list, usually an expression such as `{{ $json.leads }}`.",
                        "type": "array",
                    },
                    "condition": {
                        "description": "A JavaScript expression evaluated per item, `$json` being the item: `$json.score > 50`.",
                        "type": "string",
                        "minLength": 1,
                    },
                },
                "required": ["items", "condition"],
                "additionalProperties": false,
            }),
            // Not a template: evaluated per item by the node.
            code_fields: vec!["condition"],
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Filter", "logic")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: FilterConfig = parse_config(config)?;
        let Value::Array(items) = config.items else {
            return Err(NodeError::fatal(format!(
                "logic.filter: items must be a list, got {}",
                kind_of(&config.items)
            )));
        };
        let body = format!("return ({}\n);", config.condition);
        let total = items.len();
        let mut kept = Vec::with_capacity(total);
        // One scope for every item: only `$json` changes.
        let mut scope = (*ctx.scope).clone();
        for (i, item) in items.into_iter().enumerate() {
            scope.json = item;
            let shared = Arc::new(scope);
            let label = format!("logic.filter: item {i}");
            let verdict = run_script(ctx, &label, &body, shared.clone(), PER_ITEM).await;
            // The sandbox lets go of its copy as it answers; a clone only if it has not yet.
            scope = Arc::unwrap_or_clone(shared);
            if truthy(&verdict?) {
                kept.push(std::mem::take(&mut scope.json));
            }
        }
        let dropped = total - kept.len();
        Ok(NodeOutput::main(json!({"items": kept, "dropped": dropped})))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn items_for_which_the_condition_holds_are_kept_in_order() {
        let leads =
            json!([{"score": 72, "n": 1}, {"score": 31, "n": 2}, {"score": 90, "n": 3}, {"n": 4}]);
        let out = run(
            &LogicFilter,
            json!({"items": leads, "condition": "$json.score > 50"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(
            out.data,
            json!({"items": [{"score": 72, "n": 1}, {"score": 90, "n": 3}], "dropped": 2})
        );
    }

    #[tokio::test]
    async fn a_list_is_required_and_a_throwing_condition_names_its_item() {
        let not_list = run(
            &LogicFilter,
            json!({"items": {"a": 1}, "condition": "true"}),
            Value::Null,
        )
        .await
        .unwrap_err();
        assert!(
            not_list.message.contains("got an object"),
            "{}",
            not_list.message
        );
        let missing = run(
            &LogicFilter,
            json!({"items": [{}, {"x": 1}], "condition": "$json.x === undefined"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(missing.data, json!({"items": [{}], "dropped": 1}));
        let err = run(
            &LogicFilter,
            json!({"items": [{"a": {}}, {}], "condition": "$json.a.b === 1"}),
            Value::Null,
        )
        .await
        .unwrap_err();
        assert!(
            err.message.contains("item 1") && err.message.contains("TypeError"),
            "{}",
            err.message
        );
    }
}
