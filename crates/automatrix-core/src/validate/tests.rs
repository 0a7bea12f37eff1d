//! Validation reports every problem with its JSON path.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::*;
use crate::node::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};

struct Trigger;
struct Http;
struct If;
struct Code;
/// Ports named by its config: `{"routes": ["a", "b"]}`.
struct Router;

#[async_trait]
impl Node for Trigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            is_trigger: true,
            ..NodeSpec::new("trigger.manual", "Manual", "trigger")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for Http {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            config_schema: json!({
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string", "pattern": "^https?://"}, "timeout_ms": {"type": "integer"}},
                "additionalProperties": false
            }),
            ..NodeSpec::new("http.request", "HTTP", "http")
        }
    }
    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        let url = config["url"].as_str().unwrap_or_default();
        if url.contains("@") {
            return vec![ConfigIssue {
                field: "url".into(),
                issue: "credentials do not belong in a URL".into(),
            }];
        }
        Vec::new()
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for If {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            outputs: vec!["true", "false"],
            ..NodeSpec::new("logic.if", "If", "logic")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for Code {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            code_fields: vec!["code"],
            ..NodeSpec::new("code.js", "Code", "code")
        }
    }
    async fn execute(
        &self,
        _: &NodeContext,
        _: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[async_trait]
impl Node for Router {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            config_schema: json!({
                "type": "object",
                "properties": {"routes": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}}},
                "required": ["routes"],
                "additionalProperties": false
            }),
            outputs: Vec::new(),
            dynamic_outputs: true,
            ..NodeSpec::new("logic.router", "Router", "logic")
        }
    }
    fn outputs(&self, config: &Value) -> Option<Vec<String>> {
        let routes = config["routes"].as_array()?;
        Some(
            routes
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
        )
    }
}

fn registry() -> NodeRegistry {
    let mut r = NodeRegistry::new();
    r.register(Trigger)
        .register(Http)
        .register(If)
        .register(Code)
        .register(Router);
    r
}

fn problems(def: Value) -> Vec<(String, String)> {
    match validate_definition(&def, &registry()) {
        Ok(_) => Vec::new(),
        Err(p) => p.into_iter().map(|p| (p.path, p.issue)).collect(),
    }
}

fn paths(def: Value) -> Vec<String> {
    problems(def).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn a_valid_definition_passes_and_compiles_its_graph() {
    let def = json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "c", "type": "logic.if", "config": {"condition": "{{ $json.x > 1 }}"}},
                  {"id": "h", "type": "http.request", "config": {"url": "https://example.com/{{ $json.id }}"}}],
        "connections": [{"from": "t", "to": "c"}, {"from": "c", "output": "true", "to": "h"}]
    });
    let wf = validate_definition(&def, &registry()).unwrap();
    assert_eq!(wf.graph.len(), 3);
    assert_eq!(wf.definition.edges.len(), 2);
}

#[test]
fn every_problem_is_reported_with_its_path() {
    let def = json!({
        "nodes": [
            {"id": "t", "type": "trigger.manual"},
            {"id": "t", "type": "nope.nope"},
            {"id": "9bad", "type": "http.request", "config": {"url": "ftp://x", "extra": 1}},
            {"id": "e", "type": "http.request", "config": {"url": "{{ $json.url + }}"}}
        ],
        "edges": [{"from": "t", "to": "ghost"}, {"from": "t", "output": "nope", "to": "e"}]
    });
    let got = paths(def);
    for want in [
        "nodes[1].id",
        "nodes[1].type",
        "nodes[2].id",
        "nodes[2].config.url",
        "nodes[2].config",
        "nodes[3].config.url",
        "edges[0].to",
        "edges[1].output",
    ] {
        assert!(got.contains(&want.to_string()), "missing {want} in {got:?}");
    }
}

#[test]
fn schema_checks_skip_values_that_are_expressions() {
    let def = json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "h", "type": "http.request", "config": {"url": "{{ $json.url }}", "timeout_ms": "{{ 5000 }}"}}],
        "edges": [{"from": "t", "to": "h"}]
    });
    assert_eq!(problems(def), vec![]);
}

#[test]
fn a_node_checks_what_its_schema_cannot_on_literal_configs_only() {
    let with = |url: &str| {
        json!({
            "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "h", "type": "http.request", "config": {"url": url}}],
            "edges": [{"from": "t", "to": "h"}]
        })
    };
    assert_eq!(
        problems(with("https://ann:pw@crm.example")),
        vec![(
            "nodes[1].config.url".to_owned(),
            "credentials do not belong in a URL".to_owned()
        )]
    );
    // Known only at run time, and not checked twice when the schema already refused it.
    assert_eq!(
        problems(with("https://{{ $json.user }}@crm.example")),
        vec![]
    );
    assert_eq!(
        paths(with("ftp://ann@crm.example")),
        vec!["nodes[1].config.url"]
    );
}

#[test]
fn a_missing_trigger_and_a_second_trigger_are_problems() {
    assert_eq!(
        paths(
            json!({"nodes": [{"id": "h", "type": "http.request", "config": {"url": "http://x"}}]})
        ),
        vec!["nodes"]
    );
    let two = json!({"nodes": [{"id": "a", "type": "trigger.manual"}, {"id": "b", "type": "trigger.manual"}]});
    assert_eq!(paths(two), vec!["nodes[1].type"]);
}

#[test]
fn cycles_are_reported() {
    let def = json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "a", "type": "code.js", "config": {"code": "return 1"}}, {"id": "b", "type": "code.js", "config": {"code": "return 2"}}],
        "edges": [{"from": "t", "to": "a"}, {"from": "a", "to": "b"}, {"from": "b", "to": "a"}]
    });
    let p = problems(def);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].1.contains("cycle"), "{p:?}");
}

#[test]
fn unreachable_nodes_are_reported() {
    let def = json!({"nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "lonely", "type": "code.js", "config": {"code": "return 1"}}]});
    assert_eq!(
        problems(def),
        vec![(
            "nodes[1]".into(),
            "node `lonely` is not reachable from the trigger".into()
        )]
    );
}

#[test]
fn a_branching_node_must_name_its_port() {
    let def = json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "c", "type": "logic.if", "config": {"condition": true}}, {"id": "a", "type": "code.js", "config": {"code": "return 1"}}],
        "edges": [{"from": "t", "to": "c"}, {"from": "c", "to": "a"}]
    });
    assert_eq!(paths(def), vec!["edges[1].output"]);
}

#[test]
fn code_fields_are_checked_as_function_bodies() {
    let def = json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "a", "type": "code.js", "config": {"code": "return {{"}}],
        "edges": [{"from": "t", "to": "a"}]
    });
    let p = problems(def);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, "nodes[1].config.code");
    assert!(p[0].1.starts_with("invalid expression syntax"), "{p:?}");
}

#[test]
fn the_error_port_exists_only_when_errors_are_routed() {
    let edge = |on_error: &str| {
        json!({
            "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "a", "type": "code.js", "config": {"code": "return 1"}, "on_error": on_error}, {"id": "b", "type": "code.js", "config": {"code": "return 1"}}],
            "edges": [{"from": "t", "to": "a"}, {"from": "a", "output": "error", "to": "b"}]
        })
    };
    assert_eq!(paths(edge("route")), Vec::<String>::new());
    assert_eq!(paths(edge("fail")), vec!["edges[1].output"]);
}

#[test]
fn shapes_that_are_not_objects_or_arrays_are_reported() {
    assert_eq!(paths(json!([])), vec![""]);
    assert_eq!(paths(json!({"nodes": {}})), vec!["nodes"]);
    let bad = json!({"nodes": [{"id": "t", "type": "trigger.manual", "retry": {"max_attempts": 0}, "timeout_ms": -1, "on_error": "explode"}], "edges": 3});
    assert_eq!(
        paths(bad),
        vec![
            "nodes[0].retry.max_attempts",
            "nodes[0].timeout_ms",
            "nodes[0].on_error",
            "edges"
        ]
    );
}

fn routed(routes: Value, port: &str) -> Value {
    json!({
        "nodes": [{"id": "t", "type": "trigger.manual"}, {"id": "r", "type": "logic.router", "config": {"routes": routes}},
                  {"id": "a", "type": "code.js", "config": {"code": "return 1"}}],
        "edges": [{"from": "t", "to": "r"}, {"from": "r", "output": port, "to": "a"}]
    })
}

#[test]
fn a_node_whose_config_names_its_ports_accepts_edges_from_those_ports_only() {
    assert_eq!(problems(routed(json!(["web", "phone"]), "phone")), vec![]);

    let unknown = problems(routed(json!(["web", "phone"]), "walk_in"));

    assert_eq!(
        unknown,
        vec![(
            "edges[1].output".to_owned(),
            "unknown output port `walk_in` of `r` (logic.router); it has: web, phone".to_owned()
        )]
    );
}

#[test]
fn ports_named_by_a_config_must_be_literal_names_other_than_error() {
    let templated = problems(routed(json!(["web", "{{ $json.source }}"]), "web"));
    let error = paths(routed(json!(["error"]), "error"));

    assert_eq!(templated.len(), 1, "{templated:?}");
    assert_eq!(templated[0].0, "nodes[1].config");
    assert!(
        templated[0].1.contains("`{{ $json.source }}`"),
        "{templated:?}"
    );
    assert_eq!(error, vec!["nodes[1].config"]);
}

#[test]
fn edges_from_a_node_whose_port_naming_config_is_invalid_are_not_checked_again() {
    assert_eq!(
        paths(routed(json!(["Web"]), "Web")),
        vec!["nodes[1].config.routes[0]"]
    );
}
