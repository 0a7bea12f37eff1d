//! `logic.switch`: routes its input to the port of the first case that matches, the ports
//! being named by the config.

use async_trait::async_trait;
use automatrix_core::expr::truthy;
use automatrix_core::node::{ERROR_PORT, PORT_NAME_PATTERN, parse_config};
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fields::present;

/// Routes its input to the port of the first matching case, else to its default port.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogicSwitch;

impl LogicSwitch {
    pub const KIND: &'static str = "logic.switch";
    /// The port taken when no case matches and the config names none.
    pub const DEFAULT_PORT: &'static str = "default";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SwitchConfig {
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    cases: Vec<Case>,
    #[serde(default = "default_port")]
    default_output: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default, deserialize_with = "present")]
    equals: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<Value>,
    output: String,
}

impl Case {
    fn matches(&self, value: &Value) -> bool {
        match (&self.equals, &self.condition) {
            (Some(expected), _) => same(expected, value),
            (None, Some(condition)) => truthy(condition),
            // Refused by the schema: a case tests one thing.
            (None, None) => false,
        }
    }
}

fn default_port() -> String {
    LogicSwitch::DEFAULT_PORT.to_owned()
}

const DOCS: &str = r#"Sends its input down one of several branches: the port of the first case that matches, else the default port. Route a lead by its source, a service request by its department, an appointment by its type.

**Cases** are tried in order; the first that matches wins.
- `equals`: matches when `value` equals it as JSON (deep comparison; numbers by value, so `1` equals `1.0`; text is case-sensitive).
- `condition`: matches when it is truthy, usually an expression such as `{{ $json.score > 80 }}` (JavaScript truthiness, as in `logic.if`). Every condition is evaluated before the node runs, so one that throws fails the step even when an earlier case matches.

Each case has exactly one of the two, and an `output`: the port it routes to.

**Value:** what `equals` compares against, usually an expression such as `{{ $json.source }}`; the input itself when absent.

**Ports** are named by the config: each case's `output`, then `default_output` (`"default"` when absent), the one taken when no case matches. Several cases may share a port (`"web"` and `"chat"` both to `online`), and `default_output` may be the port of a case. Port names are literal (not expressions), match `^[A-Za-z_][A-Za-z0-9_-]{0,63}$`, and are not `error` (kept for `on_error: "route"`). An edge from a port the config does not name is refused when the workflow is saved. A port need not have an edge: a lead routed to a port with no edge ends there. The nodes reachable only through the ports not taken are skipped.

**Output:** the input, unchanged, on the chosen port.

**Example**

```json
{"id": "by_source", "type": "logic.switch", "config": {"value": "{{ $json.source }}", "cases": [{"equals": "web", "output": "web"}, {"equals": "phone", "output": "phone"}, {"condition": "{{ $json.fleet === true }}", "output": "fleet"}], "default_output": "other"}}
```

with the edges `{"from": "by_source", "output": "web", "to": "web_reply"}`, `{"from": "by_source", "output": "phone", "to": "call_back"}`, `{"from": "by_source", "output": "fleet", "to": "fleet_desk"}` and `{"from": "by_source", "output": "other", "to": "bdc_queue"}`.
"#;

#[async_trait]
impl Node for LogicSwitch {
    fn spec(&self) -> NodeSpec {
        let port = |what: &str| {
            json!({
                "description": what,
                "type": "string",
                "pattern": PORT_NAME_PATTERN,
                "not": {"const": ERROR_PORT},
            })
        };
        let mut default_output = port("The port taken when no case matches.");
        default_output["default"] = json!(Self::DEFAULT_PORT);
        NodeSpec {
            description: "Routes its input to the port of the first matching case, else to a default port; the ports are named by the config.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "value": {"description": "What `equals` cases compare against, usually an expression such as `{{ $json.source }}`; the input when absent."},
                    "cases": {
                        "description": "Tried in order: each has `equals` (JSON equality with `value`) or `condition` (truthy), and the `output` port it routes to.",
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "properties": {
                                "equals": {"description": "Matches when `value` equals it as JSON."},
                                "condition": {"description": "Matches when truthy, usually an expression."},
                                "output": port("The port this case routes to."),
                            },
                            "required": ["output"],
                            "oneOf": [{"required": ["equals"]}, {"required": ["condition"]}],
                            "additionalProperties": false,
                        },
                    },
                    "default_output": default_output,
                },
                "required": ["cases"],
                "additionalProperties": false,
            }),
            outputs: Vec::new(),
            dynamic_outputs: true,
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Switch", "logic")
        }
    }

    fn outputs(&self, config: &Value) -> Option<Vec<String>> {
        let default = json!(Self::DEFAULT_PORT);
        let cases = config["cases"].as_array().into_iter().flatten();
        let named = cases
            .map(|case| &case["output"])
            .chain([config.get("default_output").unwrap_or(&default)]);
        let mut ports: Vec<String> = Vec::new();
        for name in named.filter_map(Value::as_str) {
            if !ports.iter().any(|p| p == name) {
                ports.push(name.to_owned());
            }
        }
        Some(ports)
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: SwitchConfig = parse_config(config)?;
        let value = config.value.as_ref().unwrap_or(&input);
        let port = config
            .cases
            .iter()
            .find(|case| case.matches(value))
            .map_or(&config.default_output, |case| &case.output);
        Ok(NodeOutput::on(port, input))
    }
}

/// JSON equality, numbers compared by value (`1` and `1.0` are the same, as in JavaScript).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || ((x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    fn by_source() -> Value {
        json!({
            "value": "{{ $json.source }}",
            "cases": [
                {"equals": "web", "output": "online"},
                {"equals": "chat", "output": "online"},
                {"equals": "phone", "output": "phone"},
                {"condition": true, "output": "fleet"},
            ],
            "default_output": "other",
        })
    }

    /// Runs the switch with `value` standing for the expanded `{{ $json.source }}`.
    async fn port_for(config: Value, value: Value) -> String {
        let mut config = config;
        config["value"] = value;
        let input = json!({"email": "ann@buyer.example"});
        let out = run(&LogicSwitch, config, input.clone()).await.unwrap();
        assert_eq!(out.data, input, "the input passes unchanged");
        out.port
    }

    #[tokio::test]
    async fn the_first_matching_case_names_the_port() {
        assert_eq!(port_for(by_source(), json!("web")).await, "online");
        assert_eq!(port_for(by_source(), json!("chat")).await, "online");
        assert_eq!(port_for(by_source(), json!("phone")).await, "phone");
        // No `equals` matched: the condition (truthy) decides.
        assert_eq!(port_for(by_source(), json!("walk-in")).await, "fleet");
    }

    #[tokio::test]
    async fn without_a_match_the_input_goes_to_the_default_port() {
        let mut config = by_source();
        config["cases"][3]["condition"] = json!(0);
        let mut unnamed = config.clone();
        unnamed.as_object_mut().unwrap().remove("default_output");

        assert_eq!(port_for(config, json!("walk-in")).await, "other");
        assert_eq!(port_for(unnamed, json!("walk-in")).await, "default");
    }

    #[tokio::test]
    async fn equals_compares_json_deeply_and_numbers_by_value() {
        let config =
            json!({"cases": [{"equals": {"year": 2024, "trims": ["LX"]}, "output": "match"}]});

        let same_doc = port_for(config.clone(), json!({"trims": ["LX"], "year": 2024.0})).await;
        let other_doc = port_for(config.clone(), json!({"trims": ["lx"], "year": 2024})).await;
        let mut from_input = config;
        from_input.as_object_mut().unwrap().remove("value");
        let whole_input = run(
            &LogicSwitch,
            from_input,
            json!({"year": 2024, "trims": ["LX"]}),
        )
        .await
        .unwrap();

        assert_eq!(same_doc, "match");
        assert_eq!(other_doc, "default");
        assert_eq!(whole_input.port, "match");
    }

    #[test]
    fn the_ports_are_the_case_outputs_once_each_then_the_default() {
        let mut unnamed = by_source();
        unnamed.as_object_mut().unwrap().remove("default_output");

        assert_eq!(
            LogicSwitch.outputs(&by_source()),
            Some(vec![
                "online".into(),
                "phone".into(),
                "fleet".into(),
                "other".into()
            ])
        );
        assert_eq!(
            LogicSwitch.outputs(&unnamed),
            Some(vec![
                "online".into(),
                "phone".into(),
                "fleet".into(),
                "default".into()
            ])
        );
        assert!(LogicSwitch.spec().dynamic_outputs);
    }
}
