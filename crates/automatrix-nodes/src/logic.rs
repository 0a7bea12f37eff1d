//! Logic nodes: `logic.if` (branches on a condition) and `logic.merge` (joins branches).

use async_trait::async_trait;
use automatrix_core::expr::truthy;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Passes its input on the `true` or `false` port, by the truthiness of its condition.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogicIf;

impl LogicIf {
    pub const KIND: &'static str = "logic.if";
    pub const TRUE_PORT: &'static str = "true";
    pub const FALSE_PORT: &'static str = "false";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IfConfig {
    /// Absent and `null` are both falsy.
    #[serde(default)]
    condition: Value,
}

const IF_DOCS: &str = r#"Sends its input down one of two branches.

**Condition:** usually an expression such as `{{ $json.body.score > 50 }}`. Its value is tested with JavaScript truthiness: `false`, `0`, `""`, `null` and `NaN` are false; everything else, including `[]` and `{}`, is true.

**Ports:** `true` and `false` (there is no `main` port). The nodes reachable only through the other port are skipped.

**Output:** the input, unchanged, on the chosen port.

**Example**

```json
{"id": "check", "type": "logic.if", "config": {"condition": "{{ $json.body.score > 50 }}"}}
```

with the edges `{"from": "check", "output": "true", "to": "hot"}` and `{"from": "check", "output": "false", "to": "cold"}`.
"#;

#[async_trait]
impl Node for LogicIf {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Routes its input to the `true` or `false` port depending on a condition.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "condition": {
                        "description": "The value tested, usually an expression such as `{{ $json.score > 50 }}`; JavaScript truthiness decides the port.",
                    },
                },
                "required": ["condition"],
                "additionalProperties": false,
            }),
            outputs: vec![Self::TRUE_PORT, Self::FALSE_PORT],
            docs: IF_DOCS,
            ..NodeSpec::new(Self::KIND, "If", "logic")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: IfConfig = parse_config(config)?;
        let port = if truthy(&config.condition) {
            Self::TRUE_PORT
        } else {
            Self::FALSE_PORT
        };
        Ok(NodeOutput::on(port, input))
    }
}

/// Joins the outputs of several branches into one value.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogicMerge;

impl LogicMerge {
    pub const KIND: &'static str = "logic.merge";
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum MergeMode {
    #[default]
    Object,
    Append,
    MergeFields,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeConfig {
    #[serde(default)]
    mode: MergeMode,
}

const MERGE_DOCS: &str = r#"Joins branches. `logic.merge` always gets, as its input, an object holding each active predecessor's output under the predecessor's id (even when only one branch ran, so it can tell which one); it turns that object into the shape you need. It runs once every predecessor has finished or been skipped.

**Modes**
- `"object"` (the default): output the input object as is, e.g. `{"crm": {...}, "inventory": {...}}`.
- `"append"`: output an array of the predecessors' outputs, ordered by predecessor id.
- `"merge_fields"`: shallow-merge the predecessors' outputs (which must all be objects) into one object, in predecessor-id order, so on a clash the field of the predecessor whose id sorts last wins.

**Output:** the merged value, on `main`.

**Errors** (fatal): the input is not an object keyed by predecessor id; with `"merge_fields"`, a predecessor's output is not an object.

**Example**

Predecessors `crm` → `{"email": "ann@example.com", "stage": "lead"}` and `dms` → `{"stage": "customer", "vin": "WVW123"}`:

```json
{"id": "join", "type": "logic.merge", "config": {"mode": "merge_fields"}}
```

Output `{"email": "ann@example.com", "stage": "customer", "vin": "WVW123"}`.
"#;

#[async_trait]
impl Node for LogicMerge {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Joins the outputs of several branches into one object or array.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "mode": {
                        "description": "`object`: the outputs keyed by predecessor id; `append`: an array of the outputs; `merge_fields`: one object with the fields of all outputs.",
                        "enum": ["object", "append", "merge_fields"],
                        "default": "object",
                    },
                },
                "additionalProperties": false,
            }),
            docs: MERGE_DOCS,
            keyed_input: true,
            ..NodeSpec::new(Self::KIND, "Merge", "logic")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: MergeConfig = parse_config(config)?;
        let Value::Object(by_predecessor) = input else {
            return Err(NodeError::fatal(format!(
                "logic.merge: expected an object keyed by predecessor id, got {}",
                type_name(&input)
            )));
        };
        if config.mode == MergeMode::Object {
            return Ok(NodeOutput::main(Value::Object(by_predecessor)));
        }
        // Predecessor-id order whatever the map's iteration order, so results are stable.
        let mut entries: Vec<(String, Value)> = by_predecessor.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let merged = match config.mode {
            MergeMode::Object => unreachable!("returned above"),
            MergeMode::Append => Value::Array(entries.into_iter().map(|(_, v)| v).collect()),
            MergeMode::MergeFields => {
                let mut out = Map::new();
                for (id, value) in entries {
                    let Value::Object(fields) = value else {
                        return Err(NodeError::fatal(format!(
                            "logic.merge: mode merge_fields needs every input to be an object, \
                             but the output of `{id}` is {}",
                            type_name(&value)
                        )));
                    };
                    out.extend(fields);
                }
                Value::Object(out)
            }
        };
        Ok(NodeOutput::main(merged))
    }
}

/// A JSON type name with its article, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn if_passes_its_input_on_the_true_port_when_the_condition_is_truthy() {
        for condition in [json!(true), json!(1), json!("yes"), json!([]), json!({})] {
            let out = run(
                &LogicIf,
                json!({"condition": condition}),
                json!({"score": 72}),
            )
            .await
            .unwrap();

            assert_eq!(
                out,
                NodeOutput::on("true", json!({"score": 72})),
                "{condition}"
            );
        }
    }

    #[tokio::test]
    async fn if_passes_its_input_on_the_false_port_when_the_condition_is_falsy() {
        for condition in [json!(false), json!(0), json!(""), Value::Null] {
            let out = run(
                &LogicIf,
                json!({"condition": condition}),
                json!({"score": 12}),
            )
            .await
            .unwrap();

            assert_eq!(
                out,
                NodeOutput::on("false", json!({"score": 12})),
                "{condition}"
            );
        }
    }

    #[test]
    fn if_declares_only_the_true_and_false_ports() {
        let spec = LogicIf.spec();

        assert_eq!(spec.outputs, ["true", "false"]);
        assert!(!spec.has_port("main"));
    }

    fn two_branches() -> Value {
        json!({
            "dms": {"stage": "customer", "vin": "WVW123"},
            "crm": {"email": "ann@example.com", "stage": "lead"},
        })
    }

    #[tokio::test]
    async fn merge_in_object_mode_outputs_the_keyed_input_as_is() {
        let out = run(&LogicMerge, json!({}), two_branches()).await.unwrap();

        assert_eq!(out, NodeOutput::main(two_branches()));
    }

    #[tokio::test]
    async fn merge_in_append_mode_outputs_the_values_in_predecessor_id_order() {
        let out = run(&LogicMerge, json!({"mode": "append"}), two_branches())
            .await
            .unwrap();

        assert_eq!(
            out.data,
            json!([
                {"email": "ann@example.com", "stage": "lead"},
                {"stage": "customer", "vin": "WVW123"},
            ])
        );
    }

    #[tokio::test]
    async fn merge_fields_combines_the_objects_and_the_last_predecessor_id_wins() {
        let out = run(&LogicMerge, json!({"mode": "merge_fields"}), two_branches())
            .await
            .unwrap();

        assert_eq!(
            out.data,
            json!({"email": "ann@example.com", "stage": "customer", "vin": "WVW123"})
        );
    }

    #[tokio::test]
    async fn merge_fields_names_the_predecessor_whose_output_is_not_an_object() {
        let input = json!({"crm": {"email": "ann@example.com"}, "scores": [1, 2]});

        let err = run(&LogicMerge, json!({"mode": "merge_fields"}), input)
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert_eq!(
            err.message,
            "logic.merge: mode merge_fields needs every input to be an object, \
             but the output of `scores` is an array"
        );
    }

    #[tokio::test]
    async fn merge_rejects_an_input_that_is_not_keyed_by_predecessor() {
        let err = run(&LogicMerge, json!({"mode": "append"}), json!([1]))
            .await
            .unwrap_err();

        assert_eq!(
            err.message,
            "logic.merge: expected an object keyed by predecessor id, got an array"
        );
    }

    #[tokio::test]
    async fn merge_rejects_an_unknown_mode() {
        let err = run(&LogicMerge, json!({"mode": "zip"}), two_branches())
            .await
            .unwrap_err();

        assert!(err.message.contains("zip"), "{}", err.message);
    }
}
