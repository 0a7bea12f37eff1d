//! `transform.json`: parses JSON text, writes a value as JSON text, and picks values out of a
//! document with a JSONPath (RFC 9535) query.

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};
use serde_json_path::JsonPath;

use crate::fields::present;
use crate::logic::type_name;

/// Parses, stringifies and queries JSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformJson;

impl TransformJson {
    pub const KIND: &'static str = "transform.json";
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Parse,
    Stringify,
    Pick,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Parse => "parse",
            Self::Stringify => "stringify",
            Self::Pick => "pick",
        }
    }

    /// The optional fields an operation reads; any other one given is a mistake.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Parse => &["text"],
            Self::Stringify => &["value", "pretty"],
            Self::Pick => &["value", "path", "first"],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonConfig {
    operation: Operation,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    text: Option<Value>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    pretty: bool,
    #[serde(default)]
    first: bool,
}

const DOCS: &str = r#"Parses JSON text, writes a value as JSON text, or picks values out of a document with a JSONPath query: a CRM that sends its payload as a string, a DMS field holding JSON, the one price you need out of a long inventory answer.

**Parse** (`operation: "parse"`): reads `text` (by default the input, which must then be a string). Text that is not JSON fails the step, naming the line and column of the mistake (also in the error's data as `line` and `column`). Output `{value}`: the parsed value.

**Stringify** (`operation: "stringify"`): writes `value` (by default the input) as compact JSON text, or indented by two spaces with `pretty: true`. Output `{text}`.

**Pick** (`operation: "pick"`): runs the JSONPath query `path` (RFC 9535, e.g. `$.vehicles[?@.price < 30000].vin`) on `value` (by default the input). Output `{value, count}`: `value` is the list of the matched values in document order, or with `first: true` the first of them (`null` when nothing matched); `count` is how many matched.

**Value and input:** `value` and `text` default to the node's input (`$json`); give them, usually as expressions, to work on something else. `"value": null` is the value `null`, not the input.

**Errors** (fatal): a `path` that does not compile, with the position of the mistake (refused already when the workflow is saved if no field of the config is an expression); text that is not JSON; `text` that is not a string; a field the operation does not use (`pretty` with pick, `path` with parse...).

**Example**

Input `{"body": {"vehicles": [{"vin": "1HGCM82633A004352", "price": 28500}, {"vin": "WVW123", "price": 41900}]}}`:

```json
{"id": "cheap_vins", "type": "transform.json", "config": {"operation": "pick", "path": "$.body.vehicles[?@.price < 30000].vin"}}
```

Output `{"value": ["1HGCM82633A004352"], "count": 1}`.
"#;

#[async_trait]
impl Node for TransformJson {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Parses JSON text, writes a value as JSON text, or picks values out of it with JSONPath.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "operation": {"description": "`parse` text into a value, `stringify` a value into text, or `pick` values with a JSONPath query.", "enum": ["parse", "stringify", "pick"]},
                    "value": {"description": "Stringify, pick: the value to work on; the input when absent."},
                    "text": {"description": "Parse: the JSON text; the input (which must be a string) when absent.", "type": "string"},
                    "path": {"description": "Pick: a JSONPath query (RFC 9535), e.g. `$.vehicles[*].vin`.", "type": "string", "minLength": 1},
                    "pretty": {"description": "Stringify: indent the text by two spaces.", "type": "boolean", "default": false},
                    "first": {"description": "Pick: output the first match (or `null`) instead of the list of matches.", "type": "boolean", "default": false},
                },
                "required": ["operation"],
                "if": {"properties": {"operation": {"const": "pick"}}},
                "then": {"required": ["path"]},
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "JSON", "transform")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        match serde_json::from_value::<JsonConfig>(config.clone()) {
            Ok(config) => {
                let mut issues = config.issues();
                if let (Some(path), Operation::Pick) = (&config.path, config.operation) {
                    issues.extend(compile(path).err());
                }
                issues
            }
            // The schema has said what is wrong.
            Err(_) => Vec::new(),
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: JsonConfig = parse_config(config)?;
        ConfigIssue::refuse(Self::KIND, config.issues())?;
        let out = match config.operation {
            Operation::Parse => json!({"value": parse(config.text.unwrap_or(input))?}),
            Operation::Stringify => {
                let value = config.value.unwrap_or(input);
                let text = if config.pretty {
                    serde_json::to_string_pretty(&value)
                } else {
                    serde_json::to_string(&value)
                };
                json!({"text": text.map_err(|e| fatal(e.to_string()))?})
            }
            Operation::Pick => {
                let path = compile(config.path.as_deref().unwrap_or_default())
                    .map_err(|i| fatal(format!("`path` {}", i.issue)))?;
                let value = config.value.unwrap_or(input);
                let found = path.query(&value).all();
                let count = found.len();
                let picked = if config.first {
                    found.first().map_or(Value::Null, |v| (*v).clone())
                } else {
                    Value::Array(found.into_iter().cloned().collect())
                };
                json!({"value": picked, "count": count})
            }
        };
        Ok(NodeOutput::main(out))
    }
}

impl JsonConfig {
    /// What is wrong beyond the schema and the path: fields the operation does not use, a
    /// missing path. Checked at validation (literal configs) and again when the node runs.
    fn issues(&self) -> Vec<ConfigIssue> {
        let given = [
            ("value", self.value.is_some()),
            ("text", self.text.is_some()),
            ("path", self.path.is_some()),
            ("pretty", self.pretty),
            ("first", self.first),
        ];
        let used = self.operation.fields();
        let mut issues: Vec<ConfigIssue> = given
            .into_iter()
            .filter(|(field, set)| *set && !used.contains(field))
            .map(|(field, _)| ConfigIssue {
                field: field.to_owned(),
                issue: format!("is not used by operation {}", self.operation.name()),
            })
            .collect();
        if self.operation == Operation::Pick && self.path.is_none() {
            issues.push(ConfigIssue {
                field: "path".into(),
                issue: "is required by operation pick".into(),
            });
        }
        issues
    }
}

fn fatal(message: String) -> NodeError {
    NodeError::fatal(format!("transform.json: {message}"))
}

fn compile(path: &str) -> Result<JsonPath, ConfigIssue> {
    JsonPath::parse(path).map_err(|e| ConfigIssue {
        field: "path".into(),
        issue: format!("is not a valid JSONPath query: {e}"),
    })
}

fn parse(text: Value) -> Result<Value, NodeError> {
    let Value::String(text) = text else {
        return Err(fatal(format!(
            "parse needs JSON text, got {}",
            type_name(&text)
        )));
    };
    serde_json::from_str(&text).map_err(|e| {
        fatal(format!("the text is not valid JSON: {e}"))
            .with_data(json!({"line": e.line(), "column": e.column()}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    async fn json_node(config: Value, input: Value) -> Result<Value, NodeError> {
        run(&TransformJson, config, input).await.map(|o| o.data)
    }

    fn inventory() -> Value {
        json!({"body": {"vehicles": [
            {"vin": "1HGCM82633A004352", "price": 28500},
            {"vin": "WVW123", "price": 41900},
        ]}})
    }

    #[tokio::test]
    async fn pick_lists_every_match_in_document_order_or_only_the_first() {
        let all = json_node(
            json!({"operation": "pick", "path": "$.body.vehicles[*].vin"}),
            inventory(),
        )
        .await
        .unwrap();
        let cheap = json_node(
            json!({"operation": "pick", "path": "$.body.vehicles[?@.price < 30000].vin", "first": true}),
            inventory(),
        )
        .await
        .unwrap();
        let none = json_node(
            json!({"operation": "pick", "path": "$.trade_in.vin", "first": true}),
            inventory(),
        )
        .await
        .unwrap();

        assert_eq!(
            all,
            json!({"value": ["1HGCM82633A004352", "WVW123"], "count": 2})
        );
        assert_eq!(cheap, json!({"value": "1HGCM82633A004352", "count": 1}));
        assert_eq!(none, json!({"value": null, "count": 0}));
    }

    #[tokio::test]
    async fn pick_works_on_the_value_given_instead_of_the_input() {
        let out = json_node(
            json!({"operation": "pick", "path": "$[1]", "value": ["a", "b"]}),
            inventory(),
        )
        .await
        .unwrap();

        assert_eq!(out, json!({"value": ["b"], "count": 1}));
    }

    #[tokio::test]
    async fn parse_reads_the_text_or_the_input_and_stringify_writes_it_back() {
        let parsed = json_node(
            json!({"operation": "parse", "text": "{\"stock\": 12}"}),
            Value::Null,
        )
        .await
        .unwrap();
        let from_input = json_node(json!({"operation": "parse"}), json!("[1, 2]"))
            .await
            .unwrap();
        let compact = json_node(json!({"operation": "stringify"}), json!({"stock": 12}))
            .await
            .unwrap();
        let pretty = json_node(
            json!({"operation": "stringify", "value": {"a": [1]}, "pretty": true}),
            Value::Null,
        )
        .await
        .unwrap();
        let null = json_node(
            json!({"operation": "stringify", "value": null}),
            json!({"x": 1}),
        )
        .await
        .unwrap();

        assert_eq!(parsed, json!({"value": {"stock": 12}}));
        assert_eq!(from_input, json!({"value": [1, 2]}));
        assert_eq!(compact, json!({"text": "{\"stock\":12}"}));
        assert_eq!(pretty, json!({"text": "{\n  \"a\": [\n    1\n  ]\n}"}));
        assert_eq!(null, json!({"text": "null"}));
    }

    #[tokio::test]
    async fn bad_json_text_fails_the_step_with_the_position_of_the_mistake() {
        let err = json_node(
            json!({"operation": "parse", "text": "{\"stock\": 12,\n \"vin\" 1}"}),
            Value::Null,
        )
        .await
        .unwrap_err();
        let not_text = json_node(json!({"operation": "parse"}), json!({"a": 1}))
            .await
            .unwrap_err();

        assert!(!err.is_retryable());
        assert!(err.message.contains("line 2 column 8"), "{}", err.message);
        assert_eq!(err.data, Some(json!({"line": 2, "column": 8})));
        assert_eq!(
            not_text.message,
            "transform.json: parse needs JSON text, got an object"
        );
    }

    #[test]
    fn a_path_that_does_not_compile_or_a_field_the_operation_ignores_is_a_config_issue() {
        let issues = |config: Value| TransformJson.check_config(&config);

        let bad_path = issues(json!({"operation": "pick", "path": "$.vehicles[?"}));
        let unused = issues(json!({"operation": "parse", "text": "1", "pretty": true}));

        assert_eq!(bad_path.len(), 1, "{bad_path:?}");
        assert_eq!(bad_path[0].field, "path");
        assert!(bad_path[0].issue.contains("at position"), "{bad_path:?}");
        assert_eq!(
            unused,
            vec![ConfigIssue {
                field: "pretty".into(),
                issue: "is not used by operation parse".into()
            }]
        );
        assert_eq!(
            issues(json!({"operation": "pick", "path": "$..vin"})),
            vec![]
        );
    }

    #[tokio::test]
    async fn a_path_that_does_not_compile_at_run_time_fails_the_step() {
        let err = json_node(
            json!({"operation": "pick", "path": "vehicles"}),
            inventory(),
        )
        .await
        .unwrap_err();

        assert!(!err.is_retryable());
        assert!(
            err.message
                .starts_with("transform.json: `path` is not a valid JSONPath query"),
            "{}",
            err.message
        );
    }
}
