//! Workflow templates: a definition with typed parameters (`[[name]]` placeholders), a category,
//! a description and a sample input. Built-in templates ship in `templates/`; organizations
//! save their own. Instantiating one checks the values given for its parameters and
//! substitutes them into the definition; the result is an ordinary workflow definition.
//!
//! Placeholders use square brackets so that they cannot be confused with the runtime
//! expressions `{{ … }}`, which they may sit beside: `"Hi from [[store_name]], {{ $json.name }}"`.
//! A string that is exactly one placeholder becomes the parameter's value with its JSON type.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::credentials::credential_types;
use crate::validate::Problem;

/// The categories a template may be filed under.
pub const CATEGORIES: [&str; 4] = ["Sales", "Service", "Parts", "Marketing"];

/// `[[ name ]]`, spaces allowed inside the brackets.
static PLACEHOLDER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\[\s*([A-Za-z0-9_]+)\s*\]\]").expect("placeholder pattern"));
static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]{0,63}$").expect("name pattern"));
static SLUG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]{0,63}$").expect("slug pattern"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("email pattern"));

/// What a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    String,
    Number,
    Boolean,
    /// An email address.
    Email,
    /// An absolute `http(s)` URL.
    Url,
    /// A phone number: 10 to 15 digits, with `+`, spaces, dots, dashes and parentheses allowed.
    Phone,
    /// The id of a credential of the organization (of `credential_type`).
    Credential,
    /// One of `options`.
    Enum,
}

/// One parameter of a template.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// `^[a-z][a-z0-9_]{0,63}$`, as used in `[[name]]`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    /// Used when no value is given (optional parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub default: Option<Value>,
    /// A realistic value, shown in forms (and used to check the template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub example: Option<Value>,
    /// `enum`: the allowed values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
    /// `credential`: the credential type it must be (`twilio`, `smtp`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_type: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// A template's content (what its JSON file or a `POST /api/templates` holds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSpec {
    /// Built-in templates only: their stable name (the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    pub name: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parameters: Vec<Parameter>,
    /// A workflow definition with `[[name]]` placeholders.
    #[schema(value_type = Object)]
    pub definition: Value,
    /// An execution input that exercises the workflow.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub sample_input: Value,
}

fn problem(path: impl Into<String>, issue: impl Into<String>) -> Problem {
    Problem {
        path: path.into(),
        issue: issue.into(),
    }
}

/// Every placeholder name in the strings of `value`.
pub fn placeholders(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    walk(value, &mut |s| {
        for c in PLACEHOLDER.captures_iter(s) {
            out.insert(c[1].to_owned());
        }
    });
    out
}

fn walk(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| walk(v, f)),
        Value::Object(map) => map.values().for_each(|v| walk(v, f)),
        _ => {}
    }
}

/// `definition` with every placeholder replaced by its value: a string that is exactly one
/// placeholder takes the value itself (any JSON type); elsewhere the value is written as text
/// (strings as they are, other values as JSON). Keys are left alone.
pub fn substitute(definition: &Value, values: &Map<String, Value>) -> Value {
    match definition {
        Value::String(s) => {
            if let Some(c) = PLACEHOLDER.captures(s)
                && c[0].len() == s.len()
                && let Some(v) = values.get(&c[1])
            {
                return v.clone();
            }
            let text =
                PLACEHOLDER.replace_all(s, |c: &regex::Captures<'_>| match values.get(&c[1]) {
                    Some(Value::String(v)) => v.clone(),
                    Some(v) => v.to_string(),
                    None => c[0].to_owned(),
                });
            Value::String(text.into_owned())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, values)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Parameter {
    /// What is wrong with `value` for this parameter (`None`: it fits). Credential ids are
    /// checked for shape only; that the credential exists is the caller's to check.
    pub fn misfit(&self, value: &Value) -> Option<String> {
        let text = value.as_str();
        let ok = match self.kind {
            ParamType::String => text.is_some(),
            ParamType::Number => value.is_number(),
            ParamType::Boolean => value.is_boolean(),
            ParamType::Email => text.is_some_and(|t| EMAIL.is_match(t)),
            ParamType::Url => text.is_some_and(|t| {
                (t.starts_with("https://") || t.starts_with("http://"))
                    && t.len() > "https://".len()
                    && !t.contains(char::is_whitespace)
            }),
            ParamType::Phone => text.is_some_and(|t| {
                let digits = t.chars().filter(char::is_ascii_digit).count();
                (10..=15).contains(&digits)
                    && t.chars()
                        .all(|c| c.is_ascii_digit() || "+ .-()".contains(c))
            }),
            ParamType::Credential => text.is_some_and(|t| uuid::Uuid::parse_str(t).is_ok()),
            ParamType::Enum => text.is_some_and(|t| {
                self.options
                    .as_ref()
                    .is_some_and(|o| o.iter().any(|x| x == t))
            }),
        };
        if ok {
            return None;
        }
        Some(match self.kind {
            ParamType::String => "must be a string".into(),
            ParamType::Number => "must be a number".into(),
            ParamType::Boolean => "must be true or false".into(),
            ParamType::Email => "must be an email address".into(),
            ParamType::Url => "must be an absolute http(s) URL".into(),
            ParamType::Phone => "must be a phone number of 10 to 15 digits".into(),
            ParamType::Credential => "must be the id of a credential (a UUID)".into(),
            ParamType::Enum => format!(
                "must be one of {}",
                self.options.as_deref().unwrap_or_default().join(", ")
            ),
        })
    }
}

impl TemplateSpec {
    /// What is wrong with the template itself: its fields, its parameters (names, types,
    /// defaults and examples that fit), and placeholders that name no parameter or parameters
    /// no placeholder uses. Paths like `parameters[2].default`. Whether the definition is a
    /// valid workflow is checked by the caller, with the parameters filled in.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(slug) = &self.slug
            && !SLUG.is_match(slug)
        {
            out.push(problem("slug", "must match ^[a-z0-9][a-z0-9-]{0,63}$"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            out.push(problem("name", "must be 1 to 200 characters"));
        }
        if !CATEGORIES.contains(&self.category.as_str()) {
            out.push(problem(
                "category",
                format!("must be one of {}", CATEGORIES.join(", ")),
            ));
        }
        if !self.definition.is_object() {
            out.push(problem(
                "definition",
                "must be a workflow definition (an object)",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, p) in self.parameters.iter().enumerate() {
            let at = |field: &str| format!("parameters[{i}]{field}");
            if !NAME.is_match(&p.name) {
                out.push(problem(at(".name"), "must match ^[a-z][a-z0-9_]{0,63}$"));
            } else if !seen.insert(p.name.as_str()) {
                out.push(problem(at(".name"), "repeats an earlier parameter's name"));
            }
            match (p.kind, &p.options) {
                (ParamType::Enum, Some(o)) if !o.is_empty() => {}
                (ParamType::Enum, _) => out.push(problem(at(".options"), "an enum needs options")),
                (_, Some(_)) => out.push(problem(at(".options"), "only an enum has options")),
                _ => {}
            }
            match (p.kind, p.credential_type.as_deref()) {
                (ParamType::Credential, Some(t))
                    if credential_types().iter().any(|c| c.kind == t) => {}
                (ParamType::Credential, _) => out.push(problem(
                    at(".credential_type"),
                    "a credential parameter needs a known credential type",
                )),
                (_, Some(_)) => out.push(problem(
                    at(".credential_type"),
                    "only a credential parameter has a credential type",
                )),
                _ => {}
            }
            for (field, value) in [(".default", &p.default), (".example", &p.example)] {
                if let Some(issue) = value.as_ref().and_then(|v| p.misfit(v)) {
                    out.push(problem(at(field), issue));
                }
            }
        }
        let used = placeholders(&self.definition);
        for name in &used {
            if !seen.contains(name.as_str()) {
                out.push(problem(
                    "definition",
                    format!("the placeholder [[{name}]] names no parameter"),
                ));
            }
        }
        for (i, p) in self.parameters.iter().enumerate() {
            if !used.contains(&p.name) {
                out.push(problem(
                    format!("parameters[{i}]"),
                    format!("`{}` is used by no placeholder", p.name),
                ));
            }
        }
        out
    }

    /// The value of every parameter: those given, else the defaults. Problems name each
    /// parameter (`parameters.store_name`): missing when required, ill-typed, or unknown.
    pub fn values(&self, given: &Map<String, Value>) -> Result<Map<String, Value>, Vec<Problem>> {
        let mut out = Map::new();
        let mut problems = Vec::new();
        let declared: BTreeMap<&str, &Parameter> = self
            .parameters
            .iter()
            .map(|p| (p.name.as_str(), p))
            .collect();
        for name in given.keys() {
            if !declared.contains_key(name.as_str()) {
                problems.push(problem(
                    format!("parameters.{name}"),
                    "is not a parameter of this template",
                ));
            }
        }
        for p in &self.parameters {
            let path = format!("parameters.{}", p.name);
            match given
                .get(&p.name)
                .filter(|v| !v.is_null())
                .or(p.default.as_ref())
            {
                Some(v) => match p.misfit(v) {
                    Some(issue) => problems.push(problem(path, issue)),
                    None => {
                        out.insert(p.name.clone(), v.clone());
                    }
                },
                None if p.required => problems.push(problem(path, "is required")),
                // An optional parameter without a default: empty text.
                None => {
                    out.insert(p.name.clone(), Value::String(String::new()));
                }
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(value: Value) -> TemplateSpec {
        serde_json::from_value(value).expect("a template")
    }

    fn lead_template() -> TemplateSpec {
        spec(json!({
            "name": "Lead reply", "category": "Sales",
            "parameters": [
                {"name": "store_name", "type": "string", "required": true, "example": "Valley Honda"},
                {"name": "hot_score", "type": "number", "default": 70},
                {"name": "sms", "type": "credential", "credential_type": "twilio", "required": true},
                {"name": "tone", "type": "enum", "options": ["friendly", "formal"], "default": "friendly"}
            ],
            "definition": {"nodes": [
                {"id": "t", "type": "trigger.manual"},
                {"id": "s", "type": "sms.send", "config": {"credential_id": "[[sms]]", "to": "{{ $json.phone }}",
                    "body": "Hi {{ $json.name }}, [[ store_name ]] here ([[tone]], over [[hot_score]])"}},
                {"id": "i", "type": "logic.if", "config": {"condition": "{{ $json.score > 0 }}", "threshold": "[[hot_score]]"}}
            ]}
        }))
    }

    #[test]
    fn placeholders_become_values_typed_when_alone_and_text_otherwise() {
        let t = lead_template();
        assert!(t.problems().is_empty(), "{:?}", t.problems());
        let values = t
            .values(&json!({"store_name": "Valley Honda", "sms": "0190a000-0000-7000-8000-000000000001"}).as_object().unwrap().clone())
            .unwrap();
        let d = substitute(&t.definition, &values);
        assert_eq!(
            d["nodes"][1]["config"]["credential_id"],
            "0190a000-0000-7000-8000-000000000001"
        );
        assert_eq!(
            d["nodes"][1]["config"]["body"],
            "Hi {{ $json.name }}, Valley Honda here (friendly, over 70)"
        );
        assert_eq!(d["nodes"][2]["config"]["threshold"], 70);
    }

    #[test]
    fn bad_values_are_named_one_by_one() {
        let t = lead_template();
        let given = json!({"hot_score": "high", "tone": "rude", "sms": "not-a-uuid", "extra": 1});
        let paths: Vec<String> = t
            .values(given.as_object().unwrap())
            .unwrap_err()
            .into_iter()
            .map(|p| p.path)
            .collect();
        assert_eq!(
            paths,
            [
                "parameters.extra",
                "parameters.store_name",
                "parameters.hot_score",
                "parameters.sms",
                "parameters.tone"
            ]
        );
    }

    #[test]
    fn a_template_names_every_placeholder_and_uses_every_parameter() {
        let t = spec(json!({"name": "x", "category": "Toys",
            "parameters": [{"name": "unused", "type": "string"}, {"name": "Bad", "type": "enum"},
                {"name": "n", "type": "number", "default": "ten"}],
            "definition": {"nodes": [{"id": "a", "type": "trigger.manual", "config": {"x": "[[missing]] [[n]] [[Bad]]"}}]}}));
        let found: Vec<(String, String)> = t
            .problems()
            .into_iter()
            .map(|p| (p.path, p.issue))
            .collect();
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            // [[Bad]] names no parameter: one with an invalid name does not count as declared.
            [
                "category",
                "parameters[1].name",
                "parameters[1].options",
                "parameters[2].default",
                "definition",
                "definition",
                "parameters[0]"
            ]
        );
    }

    #[test]
    fn values_of_each_type_are_checked() {
        let p = |kind: &str| -> Parameter {
            serde_json::from_value(json!({"name": "p", "type": kind})).unwrap()
        };
        assert!(p("email").misfit(&json!("ann@dealer.example")).is_none());
        assert!(p("email").misfit(&json!("ann")).is_some());
        assert!(
            p("url")
                .misfit(&json!("https://dealer.example/x"))
                .is_none()
        );
        assert!(p("url").misfit(&json!("ftp://x")).is_some());
        assert!(p("phone").misfit(&json!("+1 (555) 222-3333")).is_none());
        assert!(p("phone").misfit(&json!("555-2222")).is_some());
        assert!(p("boolean").misfit(&json!(true)).is_none());
        assert!(p("number").misfit(&json!("3")).is_some());
    }
}
