//! Definition validation (DESIGN.md §3): every problem, each with its JSON path.
//!
//! Works on the raw JSON so that one bad field does not hide the others. Config strings holding
//! `{{ }}` templates are exempt from the node schema (their type is known only at run time) but
//! their expressions are compiled to find syntax errors.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::definition::WorkflowDefinition;
use crate::expr::template::{self, Template};
use crate::expr::{Limits, Sandbox, SourceKind};
use crate::graph::Graph;
use crate::node::{ERROR_PORT, MAIN_PORT, PORT_NAME_PATTERN};
use crate::registry::{NodeRegistry, RegisteredNode};

/// One thing wrong with a definition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// JSON path inside the definition, e.g. `nodes[2].config.url`.
    pub path: String,
    pub issue: String,
}

/// A definition that passed validation, parsed and compiled.
#[derive(Clone, Debug)]
pub struct ValidatedWorkflow {
    pub definition: WorkflowDefinition,
    pub graph: Graph,
}

static NODE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$").expect("valid regex"));
static PORT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(PORT_NAME_PATTERN).expect("valid regex"));

/// Longest expression or code body accepted, to bound compile time.
const MAX_SOURCE: usize = 64 * 1024;

thread_local! {
    // A sandbox per thread for syntax checks: compiling never runs user code.
    static CHECKER: RefCell<Option<Sandbox>> = const { RefCell::new(None) };
}

/// Validates a raw definition.
pub fn validate_definition(
    raw: &Value,
    registry: &NodeRegistry,
) -> Result<ValidatedWorkflow, Vec<Problem>> {
    let mut v = Validator {
        registry,
        problems: Vec::new(),
    };
    let Some(root) = raw.as_object() else {
        v.push("", "the definition must be a JSON object");
        return Err(v.problems);
    };
    let nodes = v.nodes(root);
    let edges = v.edges(root, &nodes);
    v.extras(root);
    let trigger = v.trigger(&nodes);
    if !v.problems.is_empty() {
        return Err(v.problems);
    }
    let definition: WorkflowDefinition = match serde_json::from_value(raw.clone()) {
        Ok(d) => d,
        Err(e) => {
            v.push("", &format!("the definition does not parse: {e}"));
            return Err(v.problems);
        }
    };
    let trigger = trigger.expect("checked above");
    let mut graph = match Graph::build(&definition, trigger) {
        Ok(g) => g,
        Err(cycle) => {
            let names: Vec<&str> = cycle.0.iter().map(|&i| nodes[i].id.as_str()).collect();
            let at = edges
                .iter()
                .position(|(f, t)| cycle.0.contains(f) && cycle.0.contains(t));
            let path = at.map_or_else(|| "edges".to_owned(), |k| format!("edges[{k}]"));
            v.push(
                &path,
                &format!("the graph has a cycle through {}", names.join(", ")),
            );
            return Err(v.problems);
        }
    };
    let reach = graph.reachable_from(trigger);
    for (i, seen) in reach.iter().enumerate() {
        if !seen {
            v.push(
                &format!("nodes[{i}]"),
                &format!("node `{}` is not reachable from the trigger", nodes[i].id),
            );
        }
    }
    let edge_key = if root.contains_key("connections") {
        "connections"
    } else {
        "edges"
    };
    v.bodies(&mut graph, &nodes, &definition, edge_key);
    if v.problems.is_empty() {
        Ok(ValidatedWorkflow { definition, graph })
    } else {
        Err(v.problems)
    }
}

/// Whether any string inside `v` holds a `{{ }}` template.
fn holds_template(v: &Value) -> bool {
    match v {
        Value::String(s) => template::has_expression(s),
        Value::Array(a) => a.iter().any(holds_template),
        Value::Object(o) => o.values().any(holds_template),
        _ => false,
    }
}

/// What the edge checks need to know about a node.
struct NodeInfo<'r> {
    id: String,
    reg: Option<&'r RegisteredNode>,
    /// Its output ports; `None` when they cannot be known (no type, or ports named by a config
    /// that is invalid): edges from it are then not checked, the node's problems being reported.
    ports: Option<Vec<String>>,
    routes_errors: bool,
}

struct Validator<'r> {
    registry: &'r NodeRegistry,
    problems: Vec<Problem>,
}

impl<'r> Validator<'r> {
    fn push(&mut self, path: &str, issue: &str) {
        self.problems.push(Problem {
            path: path.to_owned(),
            issue: issue.to_owned(),
        });
    }

    fn nodes(&mut self, root: &Map<String, Value>) -> Vec<NodeInfo<'r>> {
        let Some(list) = root.get("nodes") else {
            self.push("nodes", "is required");
            return Vec::new();
        };
        let Some(list) = list.as_array() else {
            self.push("nodes", "must be an array");
            return Vec::new();
        };
        if list.is_empty() {
            self.push("nodes", "must contain at least a trigger node");
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(list.len());
        for (i, n) in list.iter().enumerate() {
            let path = format!("nodes[{i}]");
            let Some(n) = n.as_object() else {
                self.push(&path, "must be an object");
                out.push(NodeInfo {
                    id: String::new(),
                    reg: None,
                    ports: None,
                    routes_errors: false,
                });
                continue;
            };
            let id = match n.get("id").and_then(Value::as_str) {
                Some(id) if NODE_ID.is_match(id) => {
                    if let Some(first) = seen.insert(id.to_owned(), i) {
                        self.push(
                            &format!("{path}.id"),
                            &format!("duplicate node id `{id}` (also nodes[{first}])"),
                        );
                    }
                    id.to_owned()
                }
                Some(_) => {
                    self.push(
                        &format!("{path}.id"),
                        "must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$",
                    );
                    String::new()
                }
                None => {
                    self.push(&format!("{path}.id"), "is required and must be a string");
                    String::new()
                }
            };
            let reg = match n.get("type").and_then(Value::as_str) {
                Some(kind) => {
                    let reg = self.registry.get(kind);
                    if reg.is_none() {
                        self.push(
                            &format!("{path}.type"),
                            &format!("unknown node type `{kind}`"),
                        );
                    }
                    reg
                }
                None => {
                    self.push(&format!("{path}.type"), "is required and must be a string");
                    None
                }
            };
            if n.get("name")
                .is_some_and(|x| !x.is_string() && !x.is_null())
            {
                self.push(&format!("{path}.name"), "must be a string");
            }
            let config_ok = self.config(&path, n.get("config"), reg);
            let ports = reg.and_then(|r| self.ports(&path, r, n.get("config"), config_ok));
            self.retry(&path, n.get("retry"));
            if let Some(t) = n.get("timeout_ms")
                && !t.as_u64().is_some_and(|t| (1..=86_400_000).contains(&t))
            {
                self.push(
                    &format!("{path}.timeout_ms"),
                    "must be an integer from 1 to 86400000",
                );
            }
            let on_error = n.get("on_error").map(|x| x.as_str());
            let routes_errors = on_error == Some(Some("route"));
            if !matches!(on_error, None | Some(Some("fail" | "continue" | "route"))) {
                self.push(
                    &format!("{path}.on_error"),
                    "must be one of fail, continue, route",
                );
            }
            if routes_errors && reg.is_some_and(|r| r.spec.is_trigger) {
                self.push(&format!("{path}.on_error"), "a trigger cannot route errors");
            }
            out.push(NodeInfo {
                id,
                reg,
                ports,
                routes_errors,
            });
        }
        out
    }

    /// Checks a node's config; true when it passed the schema (templated values aside).
    fn config(&mut self, path: &str, config: Option<&Value>, reg: Option<&RegisteredNode>) -> bool {
        let empty = Value::Object(Map::new());
        let config = match config {
            None | Some(Value::Null) => &empty,
            Some(c @ Value::Object(_)) => c,
            Some(_) => {
                self.push(&format!("{path}.config"), "must be an object");
                return false;
            }
        };
        let Some(reg) = reg else { return false };
        let before = self.problems.len();
        for err in reg.schema.iter_errors(config) {
            let at = err.instance_path();
            if pointer(config, at.as_str())
                .is_some_and(|x| x.as_str().is_some_and(template::has_expression))
            {
                continue;
            }
            let mut p = format!("{path}.config");
            for seg in at.segments() {
                match seg {
                    jsonschema::paths::LocationSegment::Index(i) => p.push_str(&format!("[{i}]")),
                    jsonschema::paths::LocationSegment::Property(k) => {
                        p.push('.');
                        p.push_str(&k);
                    }
                }
            }
            self.push(&p, &err.to_string());
        }
        let schema_ok = self.problems.len() == before;
        if schema_ok && !holds_template(config) {
            for found in reg.node.check_config(config) {
                self.push(&format!("{path}.config.{}", found.field), &found.issue);
            }
        }
        let code_fields = &reg.spec.code_fields;
        if let Value::Object(o) = config {
            for (k, x) in o {
                let p = format!("{path}.config.{k}");
                if code_fields.contains(&k.as_str()) {
                    if let Some(src) = x.as_str() {
                        self.source(&p, SourceKind::Code, src);
                    }
                } else {
                    self.templates(&p, x);
                }
            }
        }
        schema_ok
    }

    /// The output ports of a node: its spec's, or those its config names.
    fn ports(
        &mut self,
        path: &str,
        reg: &RegisteredNode,
        config: Option<&Value>,
        config_ok: bool,
    ) -> Option<Vec<String>> {
        let fixed = || reg.spec.outputs.iter().map(|p| (*p).to_owned()).collect();
        if !reg.spec.dynamic_outputs {
            return Some(fixed());
        }
        if !config_ok {
            return None;
        }
        let empty = Value::Object(Map::new());
        let config = config.filter(|c| !c.is_null()).unwrap_or(&empty);
        let ports: Vec<String> = reg.node.outputs(config).unwrap_or_else(fixed);
        // The schema skips templated strings; a port must be known when the workflow is saved.
        let bad: Vec<String> = ports
            .iter()
            .filter(|p| !PORT_NAME.is_match(p) || *p == ERROR_PORT)
            .map(|p| format!("`{p}`"))
            .collect();
        if bad.is_empty() {
            return Some(ports);
        }
        self.push(
            &format!("{path}.config"),
            &format!(
                "output port names must be literal names matching {PORT_NAME_PATTERN}, other \
                 than `{ERROR_PORT}` (kept for on_error: route); got {}",
                bad.join(", ")
            ),
        );
        None
    }

    fn templates(&mut self, path: &str, v: &Value) {
        match v {
            Value::String(s) => match template::parse(s) {
                Ok(Template::Literal) => {}
                Ok(t) => {
                    for e in template::expressions(&t) {
                        self.source(path, SourceKind::Expression, e);
                    }
                }
                Err(_) => self.push(path, "has a `{{` without a closing `}}`"),
            },
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.templates(&format!("{path}[{i}]"), x);
                }
            }
            Value::Object(o) => {
                for (k, x) in o {
                    self.templates(&format!("{path}.{k}"), x);
                }
            }
            _ => {}
        }
    }

    fn source(&mut self, path: &str, kind: SourceKind, src: &str) {
        if src.len() > MAX_SOURCE {
            self.push(path, &format!("is longer than {MAX_SOURCE} bytes"));
            return;
        }
        if kind == SourceKind::Expression && src.trim().is_empty() {
            self.push(path, "has an empty expression `{{ }}`");
            return;
        }
        let result = CHECKER.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = Some(Sandbox::new(&Limits::default())?);
            }
            c.as_mut().expect("just set").check(kind, src)
        });
        if let Err(e) = result {
            self.push(path, &format!("invalid expression syntax: {}", short(&e)));
        }
    }

    fn retry(&mut self, path: &str, retry: Option<&Value>) {
        let Some(retry) = retry else { return };
        let path = format!("{path}.retry");
        let Some(r) = retry.as_object() else {
            self.push(&path, "must be an object");
            return;
        };
        match r.get("max_attempts").map(Value::as_u64) {
            Some(Some(1..=100)) => {}
            _ => self.push(
                &format!("{path}.max_attempts"),
                "is required: an integer from 1 to 100",
            ),
        }
        if !matches!(
            r.get("backoff").map(Value::as_str),
            None | Some(Some("fixed" | "exponential"))
        ) {
            self.push(&format!("{path}.backoff"), "must be fixed or exponential");
        }
        for key in ["initial_delay_ms", "max_delay_ms"] {
            if r.get(key)
                .is_some_and(|x| x.as_u64().is_none_or(|d| d > 86_400_000))
            {
                self.push(
                    &format!("{path}.{key}"),
                    "must be an integer from 0 to 86400000",
                );
            }
        }
    }

    /// Parses the edges; returns (from, to) node indexes for the cycle report.
    fn edges(&mut self, root: &Map<String, Value>, nodes: &[NodeInfo<'_>]) -> Vec<(usize, usize)> {
        let (key, list) = match (root.get("edges"), root.get("connections")) {
            (Some(_), Some(_)) => {
                self.push("connections", "give either edges or connections, not both");
                return Vec::new();
            }
            (Some(e), None) => ("edges", e),
            (None, Some(c)) => ("connections", c),
            (None, None) => return Vec::new(),
        };
        let Some(list) = list.as_array() else {
            self.push(key, "must be an array");
            return Vec::new();
        };
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| !n.id.is_empty()) {
            index.entry(n.id.as_str()).or_insert(i);
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (k, e) in list.iter().enumerate() {
            let path = format!("{key}[{k}]");
            let Some(e) = e.as_object() else {
                self.push(&path, "must be an object with from and to");
                continue;
            };
            let mut end = |field: &str| -> Option<usize> {
                match e.get(field).and_then(Value::as_str) {
                    Some(id) => {
                        let found = index.get(id).copied();
                        if found.is_none() {
                            self.push(
                                &format!("{path}.{field}"),
                                &format!("no node has id `{id}`"),
                            );
                        }
                        found
                    }
                    None => {
                        self.push(
                            &format!("{path}.{field}"),
                            "is required and must be a node id",
                        );
                        None
                    }
                }
            };
            let (from, to) = (end("from"), end("to"));
            let output = match e.get("output") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.as_str()),
                Some(_) => {
                    self.push(&format!("{path}.output"), "must be a string");
                    continue;
                }
            };
            if let Some(to) = to
                && nodes[to].reg.is_some_and(|r| r.spec.is_trigger)
            {
                self.push(
                    &format!("{path}.to"),
                    "a trigger cannot have incoming edges",
                );
            }
            let Some(from) = from else { continue };
            self.port(&path, &nodes[from], output);
            if let Some(to) = to {
                if !seen.insert((from, output.unwrap_or(MAIN_PORT), to)) {
                    self.push(&path, "duplicate edge");
                }
                out.push((from, to));
            }
        }
        out
    }

    fn port(&mut self, path: &str, node: &NodeInfo<'_>, output: Option<&str>) {
        let (Some(reg), Some(ports)) = (node.reg, &node.ports) else {
            return;
        };
        let has_port = |p: &str| ports.iter().any(|q| q == p);
        let valid = |p: &str| has_port(p) || (p == ERROR_PORT && node.routes_errors);
        if ports.is_empty() && !output.is_some_and(valid) {
            self.push(
                &format!("{path}.from"),
                &format!(
                    "`{}` ({}) ends its branch: no node can follow it",
                    node.id, reg.spec.kind
                ),
            );
            return;
        }
        match output {
            Some(p) if !valid(p) => {
                let mut names: Vec<&str> = ports.iter().map(String::as_str).collect();
                if node.routes_errors {
                    names.push(ERROR_PORT);
                }
                self.push(
                    &format!("{path}.output"),
                    &format!(
                        "unknown output port `{p}` of `{}` ({}); it has: {}",
                        node.id,
                        reg.spec.kind,
                        names.join(", ")
                    ),
                );
            }
            None if !has_port(MAIN_PORT) => self.push(
                &format!("{path}.output"),
                &format!(
                    "`{}` ({}) branches: name one of its outputs: {}",
                    node.id,
                    reg.spec.kind,
                    ports.join(", ")
                ),
            ),
            _ => {}
        }
    }

    fn extras(&mut self, root: &Map<String, Value>) {
        if root.get("variables").is_some_and(|v| !v.is_object()) {
            self.push("variables", "must be an object");
        }
        if let Some(s) = root.get("settings") {
            match s.as_object() {
                None => self.push("settings", "must be an object"),
                Some(s) => {
                    if s.get("timeout_ms")
                        .is_some_and(|t| t.as_u64().is_none_or(|t| t < 1))
                    {
                        self.push("settings.timeout_ms", "must be a positive integer");
                    }
                    let id = s.get("error_workflow_id").filter(|v| !v.is_null());
                    if id.is_some_and(|v| {
                        v.as_str().is_none_or(|t| uuid::Uuid::parse_str(t).is_err())
                    }) {
                        self.push("settings.error_workflow_id", "must be a workflow id (UUID)");
                    }
                }
            }
        }
    }

    fn trigger(&mut self, nodes: &[NodeInfo<'_>]) -> Option<usize> {
        let triggers: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].reg.is_some_and(|r| r.spec.is_trigger))
            .collect();
        match triggers.as_slice() {
            [] => {
                if !nodes.is_empty() && nodes.iter().all(|n| n.reg.is_some()) {
                    self.push("nodes", "the workflow has no trigger node");
                }
                None
            }
            [one] => Some(*one),
            [first, rest @ ..] => {
                for i in rest {
                    self.push(
                        &format!("nodes[{i}].type"),
                        &format!("more than one trigger (the first is nodes[{first}])"),
                    );
                }
                None
            }
        }
    }
}

fn pointer<'a>(v: &'a Value, ptr: &str) -> Option<&'a Value> {
    if ptr.is_empty() {
        Some(v)
    } else {
        v.pointer(ptr)
    }
}

fn short(e: &crate::expr::ExprError) -> String {
    match e {
        crate::expr::ExprError::Syntax { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

mod fan_out;
#[cfg(test)]
mod tests;
