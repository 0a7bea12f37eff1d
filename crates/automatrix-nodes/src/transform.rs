//! Transform nodes: `transform.set`, which sets fields on the data passing through, and
//! `transform.template`, which writes a text from a template.

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Sets fields (dotted paths create nested objects) on its input, or builds a new object.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformSet;

impl TransformSet {
    pub const KIND: &'static str = "transform.set";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetConfig {
    fields: Map<String, Value>,
    #[serde(default = "default_true")]
    keep_input: bool,
}

fn default_true() -> bool {
    true
}

/// A dotted path of non-empty segments: `email`, `customer.email`.
const FIELD_PATH: &str = r"^[^.]+(\.[^.]+)*$";

const DOCS: &str = r#"Sets fields on the data passing through, or builds a new object from scratch.

**Fields:** values are any JSON, usually expressions. A dotted name (`customer.email`) sets a nested field, creating the objects on its way and replacing any non-object value found there. Fields are applied in name order, so `customer` is set before `customer.email`.

**Starting point:** with `keep_input: true` (the default) the fields are set on a copy of the input; with `false` the output holds only the fields. When the input is not an object (an array, a string, `null`), the node starts from an empty object.

**Output:** the resulting object, on `main`.

**Errors:** none beyond an invalid config.

**Example**

Input `{"body": {"email": "ann@example.com", "score": 72}}`:

```json
{
  "id": "hot",
  "type": "transform.set",
  "config": {
    "fields": {
      "priority": "hot",
      "customer.email": "{{ $json.body.email }}",
      "customer.score": "{{ $json.body.score }}"
    },
    "keep_input": false
  }
}
```

Output `{"priority": "hot", "customer": {"email": "ann@example.com", "score": 72}}`.
"#;

#[async_trait]
impl Node for TransformSet {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Sets fields on the data passing through (dotted names create nested objects).",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "fields": {
                        "description": "Fields to set, by name; a dotted name such as `customer.email` sets a nested field. Values are any JSON, usually expressions.",
                        "type": "object",
                        "propertyNames": {"pattern": FIELD_PATH},
                    },
                    "keep_input": {
                        "description": "Set the fields on a copy of the input (true) or output only the fields (false).",
                        "type": "boolean",
                        "default": true,
                    },
                },
                "required": ["fields"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Set Fields", "transform")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: SetConfig = parse_config(config)?;
        let mut out = match input {
            Value::Object(o) if config.keep_input => o,
            _ => Map::new(),
        };
        // Name order, whatever the map's iteration order, so a parent is set before its children.
        let mut fields: Vec<(String, Value)> = config.fields.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, value) in fields {
            set_path(&mut out, &path, value)?;
        }
        Ok(NodeOutput::main(Value::Object(out)))
    }
}

/// Sets `value` at a dotted `path`, creating (or replacing non-object) intermediate values.
fn set_path(root: &mut Map<String, Value>, path: &str, value: Value) -> Result<(), NodeError> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(NodeError::fatal(format!(
            "transform.set: field name `{path}` has an empty segment; use names like `customer.email`"
        )));
    }
    let (last, parents) = segments
        .split_last()
        .expect("split yields at least one segment");
    let mut current = root;
    for segment in parents {
        let slot = current
            .entry((*segment).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        current = slot.as_object_mut().expect("made an object above");
    }
    current.insert((*last).to_owned(), value);
    Ok(())
}

/// Writes a text (a reply, an email body, a note for the CRM) from a template.
#[derive(Clone, Copy, Debug, Default)]
pub struct TransformTemplate;

impl TransformTemplate {
    pub const KIND: &'static str = "transform.template";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateConfig {
    template: Value,
    #[serde(default = "text")]
    field: String,
}

fn text() -> String {
    "text".to_owned()
}

const TEMPLATE_DOCS: &str = r#"Writes a text from a template: the reply a lead gets, the body of an email, a note for the CRM. The template is text with `{{ expression }}` parts, filled in from the data of the run (`$json`, `$trigger`, `$node`, `$vars`); a part that is `null` or missing leaves nothing, an object or a list is written as JSON.

**Output:** `{text}` (or the field named by `field`), on `main`.

**Errors:** an expression that fails fails the step, with the expression in the message.

**Example**

Input `{"customer": {"first_name": "Ann"}, "vehicle": {"year": 2024, "model": "Tacoma"}}`:

```json
{
  "id": "reply",
  "type": "transform.template",
  "config": {
    "template": "Hi {{ $json.customer.first_name }}, thanks for asking about the {{ $json.vehicle.year }} {{ $json.vehicle.model }}. When can we call you?"
  }
}
```

Output `{"text": "Hi Ann, thanks for asking about the 2024 Tacoma. When can we call you?"}`.
"#;

#[async_trait]
impl Node for TransformTemplate {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Writes a text from a template with `{{ }}` expressions.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "template": {
                        "description": "The text, with `{{ expression }}` parts.",
                        "type": "string",
                    },
                    "field": {
                        "description": "The output field that holds the text.",
                        "type": "string",
                        "minLength": 1,
                        "default": "text",
                    },
                },
                "required": ["template"],
                "additionalProperties": false,
            }),
            docs: TEMPLATE_DOCS,
            ..NodeSpec::new(Self::KIND, "Template", "transform")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: TemplateConfig = parse_config(config)?;
        // Expanded by the engine already; a template that is one expression kept its type.
        let text = match config.template {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let mut out = Map::new();
        out.insert(config.field, Value::String(text));
        Ok(NodeOutput::main(Value::Object(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn set_adds_fields_to_a_copy_of_the_input_by_default() {
        let input = json!({"email": "ann@example.com", "priority": "cold"});

        let out = run(
            &TransformSet,
            json!({"fields": {"priority": "hot", "score": 72}}),
            input,
        )
        .await
        .unwrap();

        assert_eq!(
            out,
            NodeOutput::main(json!({"email": "ann@example.com", "priority": "hot", "score": 72}))
        );
    }

    #[tokio::test]
    async fn set_outputs_only_the_fields_when_keep_input_is_false() {
        let config = json!({"fields": {"priority": "hot"}, "keep_input": false});

        let out = run(&TransformSet, config, json!({"email": "ann@example.com"}))
            .await
            .unwrap();

        assert_eq!(out.data, json!({"priority": "hot"}));
    }

    #[tokio::test]
    async fn set_creates_nested_objects_for_dotted_field_names() {
        let config = json!({"fields": {
            "customer.email": "ann@example.com",
            "customer.address.city": "Lyon",
            "customer": {"name": "Ann"},
        }});

        let out = run(&TransformSet, config, json!({"id": 7})).await.unwrap();

        assert_eq!(
            out.data,
            json!({
                "id": 7,
                "customer": {"name": "Ann", "email": "ann@example.com", "address": {"city": "Lyon"}},
            })
        );
    }

    #[tokio::test]
    async fn set_replaces_a_non_object_on_the_way_to_a_nested_field() {
        let config = json!({"fields": {"customer.email": "ann@example.com"}});

        let out = run(&TransformSet, config, json!({"customer": "Ann"}))
            .await
            .unwrap();

        assert_eq!(out.data, json!({"customer": {"email": "ann@example.com"}}));
    }

    #[tokio::test]
    async fn set_starts_from_an_empty_object_when_the_input_is_not_an_object() {
        for input in [json!([1, 2]), json!("text"), Value::Null] {
            let out = run(&TransformSet, json!({"fields": {"a": 1}}), input)
                .await
                .unwrap();

            assert_eq!(out.data, json!({"a": 1}));
        }
    }

    #[tokio::test]
    async fn set_rejects_a_field_name_with_an_empty_segment() {
        let err = run(
            &TransformSet,
            json!({"fields": {"customer..email": 1}}),
            json!({}),
        )
        .await
        .unwrap_err();

        assert!(!err.is_retryable());
        assert!(err.message.contains("customer..email"), "{}", err.message);
    }

    #[tokio::test]
    async fn set_fails_with_a_clear_message_when_fields_is_missing() {
        let err = run(&TransformSet, json!({}), json!({})).await.unwrap_err();

        assert!(err.message.contains("fields"), "{}", err.message);
    }

    #[test]
    fn set_schema_requires_fields_and_checks_field_names() {
        let schema = jsonschema::validator_for(&TransformSet.spec().config_schema).unwrap();

        assert!(schema.is_valid(&json!({"fields": {"customer.email": "x"}, "keep_input": false})));
        assert!(!schema.is_valid(&json!({"keep_input": true})));
        assert!(!schema.is_valid(&json!({"fields": {".email": "x"}})));
        assert!(!schema.is_valid(&json!({"fields": {}, "extra": 1})));
    }

    #[tokio::test]
    async fn a_template_becomes_text_even_when_it_is_one_expression() {
        let out = run(
            &TransformTemplate,
            json!({"template": "Hi Ann"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(out.data, json!({"text": "Hi Ann"}));
        // `{{ $json.score }}` alone keeps its number type when expanded: written as text.
        let out = run(
            &TransformTemplate,
            json!({"template": 72, "field": "note"}),
            Value::Null,
        )
        .await
        .unwrap();
        assert_eq!(out.data, json!({"note": "72"}));
    }
}
