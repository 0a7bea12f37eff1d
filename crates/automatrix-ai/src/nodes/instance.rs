//! What the built-in mock answers to a structured request: the plainest value a JSON Schema
//! admits, built from the schema alone, so `ai.classify` and `ai.extract` run offline.
//!
//! Rules, first match wins: `const`; `enum` (the first value the worked-on text mentions, else
//! the first value); `default`; the first of `anyOf`/`oneOf`; then by `type` (the first
//! non-null one of a list): an object gets every property (recursively), an array `minItems`
//! copies of its item, a string the empty string or a placeholder for a known `format`
//! (padded to `minLength`), a number its `minimum` or 0, a boolean false. The caller checks
//! the result against the schema, since `pattern` and the like are not followed.

use serde_json::{Map, Value, json};

/// How deep the builder follows nested schemas.
const MAX_DEPTH: usize = 16;

/// The plainest value `schema` admits (see the module docs); `hint` is the worked-on text.
pub(super) fn mock_instance(schema: &Value, hint: &str) -> Value {
    build(schema, &hint.to_lowercase(), 0)
}

fn build(schema: &Value, hint: &str, depth: usize) -> Value {
    let Value::Object(s) = schema else {
        return Value::Null;
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(options)) = s.get("enum") {
        let mentioned = options.iter().find(|o| {
            o.as_str()
                .is_some_and(|text| !text.is_empty() && hint.contains(&text.to_lowercase()))
        });
        return mentioned
            .or_else(|| options.first())
            .cloned()
            .unwrap_or(Value::Null);
    }
    if let Some(d) = s.get("default") {
        return d.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|a| a.first()) {
            return build(first, hint, depth + 1);
        }
    }
    match type_of(s) {
        "object" => object(s, hint, depth),
        "array" => {
            let n = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let item = s
                .get("items")
                .map_or(Value::Null, |i| build(i, hint, depth + 1));
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        "string" => string(s),
        "integer" | "number" => s
            .get("minimum")
            .or_else(|| s.get("exclusiveMinimum"))
            .cloned()
            .filter(|m| m.as_f64().is_some_and(|m| m > 0.0))
            .unwrap_or_else(|| json!(0)),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

/// The schema's type: the first non-null one of a list; `object` when it has properties.
fn type_of(s: &Map<String, Value>) -> &str {
    match s.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.contains_key("properties") => "object",
        _ => "null",
    }
}

fn object(s: &Map<String, Value>, hint: &str, depth: usize) -> Value {
    let properties = s.get("properties").and_then(Value::as_object);
    Value::Object(
        properties
            .into_iter()
            .flatten()
            .map(|(k, sub)| (k.clone(), build(sub, hint, depth + 1)))
            .collect(),
    )
}

fn string(s: &Map<String, Value>) -> Value {
    let base = match s.get("format").and_then(Value::as_str) {
        Some("date") => "2026-01-01",
        Some("date-time") => "2026-01-01T00:00:00Z",
        Some("time") => "00:00:00Z",
        Some("email") => "mock@example.com",
        Some("uri") => "https://example.com/",
        Some("uuid") => "00000000-0000-0000-0000-000000000000",
        _ => "",
    };
    let min = s
        .get("minLength")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let pad = min.saturating_sub(base.chars().count());
    Value::String(format!("{base}{}", "x".repeat(pad)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_get_every_property_by_type() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string"},
            "year": {"type": "integer", "minimum": 1980},
            "miles": {"type": ["number", "null"]},
            "email": {"type": "string", "format": "email"},
            "code": {"type": "string", "minLength": 3},
            "trade": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "kind": {"enum": ["sedan", "truck"]},
            "owner": {"properties": {"first": {"type": "string", "default": "Pat"}}},
        }});
        assert_eq!(
            mock_instance(&schema, "a used TRUCK"),
            json!({"name": "", "year": 1980, "miles": 0, "email": "mock@example.com",
                "code": "xxx", "trade": false, "tags": [""], "kind": "truck",
                "owner": {"first": "Pat"}})
        );
    }

    #[test]
    fn an_enum_takes_its_first_value_when_none_is_mentioned() {
        let schema = json!({"enum": ["hot", "warm", "cold"]});
        assert_eq!(mock_instance(&schema, "nothing here"), json!("hot"));
        assert_eq!(mock_instance(&schema, "Cold lead"), json!("cold"));
    }
}
