//! The node reference stays true to the code: `docs/nodes.md` is generated from the registered
//! specs (a test fails when it is stale), and every example in a node's docs is a node that
//! passes definition validation.
//!
//! Regenerate the reference with
//! `AUTOMATRIX_BLESS=1 cargo test -p automatrix-nodes --test reference`.

use std::path::PathBuf;

use automatrix_ai::{Gateway, GatewayConfig, register_nodes};
use automatrix_core::{NodeRegistry, NodeSpec, validate_definition};
use automatrix_nodes::{NodesConfig, register_builtin};
use serde_json::{Value, json};

/// Reference order: how a workflow reads, not alphabetical.
const ORDER: [&str; 35] = [
    "trigger.manual",
    "trigger.webhook",
    "trigger.schedule",
    "trigger.error",
    "respond.webhook",
    "transform.set",
    "transform.template",
    "transform.datetime",
    "transform.json",
    "data.csv",
    "data.kv",
    "logic.if",
    "logic.switch",
    "logic.merge",
    "logic.filter",
    "logic.foreach",
    "flow.delay",
    "flow.approval",
    "flow.noop",
    "flow.stop",
    "flow.subworkflow",
    "code.js",
    "http.request",
    "email.send",
    "sms.send",
    "chat.post",
    "db.query",
    "dealer.vin_decode",
    "dealer.phone_normalize",
    "dealer.business_hours",
    "dealer.adf_parse",
    "dealer.adf_build",
    "ai.generate",
    "ai.classify",
    "ai.extract",
];

/// The registry the binary builds: the built-in nodes and the AI nodes of `automatrix-ai`.
fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    register_builtin(&mut registry, &NodesConfig::default());
    let gateway = Gateway::new(GatewayConfig::default()).expect("AI gateway");
    register_nodes(&mut registry, &std::sync::Arc::new(gateway));
    registry
}

fn spec<'a>(registry: &'a NodeRegistry, kind: &str) -> &'a NodeSpec {
    &registry
        .get(kind)
        .unwrap_or_else(|| panic!("{kind} is not registered"))
        .spec
}

const INTRO: &str = "# Node reference

<!-- Generated from the node specs in crates/automatrix-nodes and crates/automatrix-ai: edit
     the specs, then run
     `AUTOMATRIX_BLESS=1 cargo test -p automatrix-nodes --test reference`. -->

The built-in node types. The same information (with the full JSON Schema of each config) is
served by `GET /api/node-types`, which the canvas uses for its palette and config forms.

Common to every node:

- **Expressions.** Any string in a config may hold `{{ expression }}` (see DESIGN.md §3): a
  string that is exactly one expression keeps the expression's JSON type, so
  `\"timeout_ms\": \"{{ $vars.crm_timeout }}\"` gives a number. Expressions are evaluated before
  the node runs; the schema checks only literal values, and the node checks the rest when it runs.
- **Input and output.** A node's input (`$json`) is its predecessor's output; a node with several
  active predecessors gets an object keyed by predecessor id. Each node emits one JSON value on
  one port.
- **Errors** are *retryable* (the node's `retry` policy applies: timeouts, connection failures,
  HTTP 5xx/429/408) or *fatal* (retrying gives the same result: bad config, HTTP 4xx, script
  errors). What happens next follows the node's `on_error`: `fail`, `continue` (output the
  error object) or `route` (emit the error object on the `error` port).

";

fn render(registry: &NodeRegistry) -> String {
    let mut out = String::from(INTRO);
    for kind in ORDER {
        let spec = spec(registry, kind);
        out.push_str(&format!(
            "- [`{kind}`](#{}): {}\n",
            anchor(kind),
            spec.description
        ));
    }
    for kind in ORDER {
        let spec = spec(registry, kind);
        out.push_str(&format!("\n## `{kind}`\n\n"));
        let role = match (spec.is_trigger, spec.side_effects) {
            (true, _) => "; a trigger",
            (false, true) => "; has side effects",
            (false, false) => "",
        };
        let ports: Vec<String> = spec.outputs.iter().map(|p| format!("`{p}`")).collect();
        let ports = if spec.dynamic_outputs {
            "named by its config (see below)".to_owned()
        } else if ports.is_empty() {
            "none: it ends its branch".to_owned()
        } else {
            ports.join(", ")
        };
        out.push_str(&format!(
            "**{}** (category `{}`{role}). Output ports: {ports}.\n\n",
            spec.display_name, spec.category,
        ));
        // The docs' lead paragraph, then the config fields, then the rest of the docs.
        let docs = spec.docs.trim_end();
        let (lead, rest) = docs.split_once("\n\n").unwrap_or((docs, ""));
        out.push_str(&format!("{lead}\n\n{}\n{rest}\n", config_table(spec)));
    }
    out
}

/// GitHub's heading anchor for "## `kind`".
fn anchor(kind: &str) -> String {
    kind.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn config_table(spec: &NodeSpec) -> String {
    let schema = &spec.config_schema;
    let props = schema["properties"].as_object().expect("properties");
    if props.is_empty() {
        return "Config: none (`{}`).\n".to_owned();
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = String::from("| Field | Type | Default | Description |\n|---|---|---|---|\n");
    let mut props: Vec<(&String, &Value)> = props.iter().collect();
    // Required fields first, each group by name.
    props.sort_by_key(|(name, _)| (!required.contains(&name.as_str()), name.as_str()));
    for (name, prop) in props {
        let name = if required.contains(&name.as_str()) {
            format!("`{name}` (required)")
        } else {
            format!("`{name}`")
        };
        let default = match prop.get("default") {
            Some(d) => format!("`{d}`"),
            None => String::new(),
        };
        let description = prop["description"].as_str().unwrap_or_default();
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            cell(&type_of(prop)),
            cell(&default),
            cell(description)
        ));
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A short, human form of a property schema's type.
fn type_of(prop: &Value) -> String {
    if let Some(values) = prop["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        return values.join(" | ");
    }
    // With a `type`, a oneOf/anyOf constrains the value (one of two fields) and is not its type.
    if let Some(options) = prop["oneOf"].as_array().or(prop["anyOf"].as_array())
        && prop["type"].is_null()
    {
        let options: Vec<String> = options.iter().map(type_of).collect();
        return options.join(" | ");
    }
    let base = match &prop["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => return "any JSON".to_owned(),
    };
    match base.as_str() {
        "array" => format!("array of {}", grouped(type_of(&prop["items"]))),
        "object" => match prop.get("additionalProperties") {
            Some(Value::Object(_)) => {
                format!(
                    "object of {}",
                    grouped(type_of(&prop["additionalProperties"]))
                )
            }
            _ => "object".to_owned(),
        },
        "integer" => match (prop["minimum"].as_u64(), prop["maximum"].as_u64()) {
            (Some(min), Some(max)) => format!("integer {min}..={max}"),
            _ => "integer".to_owned(),
        },
        _ => base,
    }
}

/// Parenthesizes a union, so `array of (a | b)` does not read as `(array of a) | b`.
fn grouped(t: String) -> String {
    if t.contains(" | ") {
        format!("({t})")
    } else {
        t
    }
}

#[test]
fn node_reference_in_docs_matches_the_node_specs() {
    // Read when the test runs (cargo sets it), not baked in at build time: a test binary built
    // in another checkout that shares the target directory must not look there.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let path = manifest.join("../../docs/nodes.md");
    let rendered = render(&registry());

    if std::env::var_os("AUTOMATRIX_BLESS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();

    assert!(
        on_disk == rendered,
        "docs/nodes.md is stale; regenerate it with \
         `AUTOMATRIX_BLESS=1 cargo test -p automatrix-nodes --test reference`"
    );
}

#[test]
fn the_reference_covers_every_registered_node() {
    let registry = registry();
    let mut registered: Vec<&str> = registry.specs().map(|s| s.kind).collect();
    let mut listed = ORDER.to_vec();

    registered.sort_unstable();
    listed.sort_unstable();

    assert_eq!(registered, listed);
}

/// The first ```json block of a node's docs: a node definition.
fn example_node(spec: &NodeSpec) -> Value {
    spec.examples()
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{} documents no example node of its type", spec.kind))
}

#[test]
fn every_documented_example_passes_definition_validation() {
    let registry = registry();

    for spec in registry.specs() {
        let node = example_node(spec);
        assert_eq!(
            node["type"], spec.kind,
            "the example of {} is another type",
            spec.kind
        );
        let definition = if spec.is_trigger {
            json!({"nodes": [node], "edges": []})
        } else {
            json!({
                "nodes": [{"id": "start", "type": "trigger.manual", "config": {}}, node],
                "edges": [{"from": "start", "to": node["id"]}],
            })
        };

        let result = validate_definition(&definition, &registry);

        assert!(
            result.is_ok(),
            "the example of {}: {:?}",
            spec.kind,
            result.err()
        );
    }
}

#[test]
fn the_design_example_workflow_validates_against_the_built_in_nodes() {
    let definition = json!({
        "nodes": [
            {"id": "lead", "type": "trigger.webhook", "name": "New lead", "config": {"respond": "on_completion"}},
            {"id": "check", "type": "logic.if", "config": {"condition": "{{ $json.body.score > 50 }}"}},
            {"id": "hot", "type": "transform.set", "config": {"fields": {"priority": "hot", "email": "{{ $trigger.body.email }}"}},
             "retry": {"max_attempts": 3, "backoff": "exponential", "initial_delay_ms": 500, "max_delay_ms": 30000},
             "timeout_ms": 10000, "on_error": "fail"},
            {"id": "cold", "type": "transform.set", "config": {"fields": {"priority": "cold"}}}
        ],
        "edges": [
            {"from": "lead", "to": "check"},
            {"from": "check", "output": "true", "to": "hot"},
            {"from": "check", "output": "false", "to": "cold"}
        ]
    });

    let result = validate_definition(&definition, &registry());

    assert!(result.is_ok(), "{:?}", result.err());
}

#[test]
fn expressions_stand_in_for_typed_config_values_but_literals_are_checked() {
    let registry = registry();
    let with = |node: Value| {
        json!({
            "nodes": [{"id": "start", "type": "trigger.manual"}, node],
            "edges": [{"from": "start", "to": node["id"]}],
        })
    };
    let templated = with(json!({"id": "call", "type": "http.request", "config": {
        "url": "{{ $vars.crm_url }}/leads",
        "method": "{{ $json.method }}",
        "timeout_ms": "{{ $vars.crm_timeout }}",
        "headers": "{{ $json.headers }}",
        "body": "{{ $json }}",
    }}));
    let bad_literals = with(json!({"id": "call", "type": "http.request", "config": {
        "url": "crm.example.com/leads",
        "timeout_ms": 0,
        "verb": "GET",
    }}));

    let templated = validate_definition(&templated, &registry);
    let problems = validate_definition(&bad_literals, &registry).unwrap_err();

    assert!(templated.is_ok(), "{:?}", templated.err());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"nodes[1].config.url"), "{problems:?}");
    assert!(
        paths.contains(&"nodes[1].config.timeout_ms"),
        "{problems:?}"
    );
    assert!(paths.contains(&"nodes[1].config"), "{problems:?}");
}
