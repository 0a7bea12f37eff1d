//! What changed between two workflow definitions: nodes matched by id (added, removed, changed
//! with the fields that changed), edges matched by `(from, output, to)` (added, removed), and
//! the other top-level parts (`variables`, `settings`). Both definitions are compared in their
//! parsed form, so a default written out (`"on_error": "fail"`) equals one left out, and
//! `connections` equals `edges`.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::definition::{EdgeDef, NodeDef, WorkflowDefinition};

/// The changes from one definition to another.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DefinitionDiff {
    pub nodes: NodeChanges,
    pub edges: EdgeChanges,
    /// Other top-level parts that changed: `variables`, `settings`.
    pub other: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct NodeChanges {
    /// Ids of nodes only in the newer definition, in its order.
    pub added: Vec<String>,
    /// Ids of nodes only in the older definition, in its order.
    pub removed: Vec<String>,
    pub changed: Vec<ChangedNode>,
}

/// A node in both definitions that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChangedNode {
    pub id: String,
    /// Which of `type`, `name`, `config`, `retry`, `timeout_ms`, `on_error`, `position`
    /// changed (`position` is the canvas's only).
    pub fields: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EdgeChanges {
    pub added: Vec<Edge>,
    pub removed: Vec<Edge>,
}

/// An edge, as the definition writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Edge {
    pub from: String,
    /// The source's output port; absent for its main port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    pub to: String,
}

impl From<&EdgeDef> for Edge {
    fn from(e: &EdgeDef) -> Self {
        Self {
            from: e.from.clone(),
            output: e.output.clone(),
            to: e.to.clone(),
        }
    }
}

/// The changes from `old` to `new`. A value that does not parse as a definition (none that was
/// stored, since those were validated) counts as an empty one.
pub fn diff_definitions(old: &Value, new: &Value) -> DefinitionDiff {
    let (old, new) = (parsed(old), parsed(new));
    let find = |defs: &[NodeDef], id: &str| defs.iter().position(|n| n.id == id);
    let mut nodes = NodeChanges::default();
    for node in &new.nodes {
        match find(&old.nodes, &node.id) {
            None => nodes.added.push(node.id.clone()),
            Some(i) => {
                let fields = changed_fields(&old.nodes[i], node);
                if !fields.is_empty() {
                    nodes.changed.push(ChangedNode {
                        id: node.id.clone(),
                        fields,
                    });
                }
            }
        }
    }
    nodes.removed = old
        .nodes
        .iter()
        .filter(|n| find(&new.nodes, &n.id).is_none())
        .map(|n| n.id.clone())
        .collect();
    let only_in = |a: &[EdgeDef], b: &[EdgeDef]| -> Vec<Edge> {
        a.iter()
            .filter(|e| !b.contains(e))
            .map(Edge::from)
            .collect()
    };
    let edges = EdgeChanges {
        added: only_in(&new.edges, &old.edges),
        removed: only_in(&old.edges, &new.edges),
    };
    let mut other = Vec::new();
    if old.variables != new.variables {
        other.push("variables".to_owned());
    }
    if old.settings != new.settings {
        other.push("settings".to_owned());
    }
    DefinitionDiff {
        nodes,
        edges,
        other,
    }
}

fn parsed(definition: &Value) -> WorkflowDefinition {
    serde_json::from_value(definition.clone()).unwrap_or_else(|_| WorkflowDefinition {
        nodes: Vec::new(),
        edges: Vec::new(),
        variables: serde_json::Map::new(),
        settings: Default::default(),
    })
}

fn changed_fields(old: &NodeDef, new: &NodeDef) -> Vec<String> {
    let checks = [
        ("type", old.kind != new.kind),
        ("name", old.name != new.name),
        ("config", old.config != new.config),
        ("retry", old.retry != new.retry),
        ("timeout_ms", old.timeout_ms != new.timeout_ms),
        ("on_error", old.on_error != new.on_error),
        ("position", old.position != new.position),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(field, _)| field.to_owned())
        .collect()
}

impl DefinitionDiff {
    /// One line for people: "2 nodes added, 1 changed; 1 edge removed; settings changed", or
    /// "no changes" when the definitions mean the same.
    pub fn summary(&self) -> String {
        let n = &self.nodes;
        let e = &self.edges;
        let mut parts: Vec<String> = [
            counted(
                "node",
                &[
                    (n.added.len(), "added"),
                    (n.removed.len(), "removed"),
                    (n.changed.len(), "changed"),
                ],
            ),
            counted(
                "edge",
                &[(e.added.len(), "added"), (e.removed.len(), "removed")],
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        parts.extend(self.other.iter().map(|o| format!("{o} changed")));
        if parts.is_empty() {
            "no changes".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

/// "2 nodes added, 1 changed": the non-zero counts, the noun after the first.
fn counted(noun: &str, counts: &[(usize, &str)]) -> Option<String> {
    let items: Vec<String> = counts
        .iter()
        .filter(|(count, _)| *count > 0)
        .enumerate()
        .map(|(i, (count, what))| match (i, count) {
            (0, 1) => format!("1 {noun} {what}"),
            (0, _) => format!("{count} {noun}s {what}"),
            _ => format!("{count} {what}"),
        })
        .collect();
    (!items.is_empty()).then(|| items.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn before() -> Value {
        json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual"},
                {"id": "a", "type": "transform.set", "config": {"fields": {"x": 1}}},
                {"id": "b", "type": "transform.set", "on_error": "fail"}
            ],
            "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "b"}]
        })
    }

    #[test]
    fn nodes_and_edges_are_matched_by_id_and_by_ends() {
        let after = json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual", "position": {"x": 1, "y": 2}},
                {"id": "a", "type": "transform.set", "name": "A", "config": {"fields": {"x": 2}}},
                {"id": "c", "type": "transform.set"},
                {"id": "d", "type": "transform.set"}
            ],
            "connections": [{"from": "start", "to": "a"}, {"from": "a", "to": "c"}, {"from": "c", "to": "d"}],
            "settings": {"timeout_ms": 1000}
        });
        let diff = diff_definitions(&before(), &after);
        assert_eq!(diff.nodes.added, ["c", "d"]);
        assert_eq!(diff.nodes.removed, ["b"]);
        let changed: Vec<_> = diff
            .nodes
            .changed
            .iter()
            .map(|c| (c.id.as_str(), c.fields.clone()))
            .collect();
        assert_eq!(
            changed,
            [
                ("start", vec!["position".to_owned()]),
                ("a", vec!["name".to_owned(), "config".to_owned()])
            ]
        );
        let ends = |es: &[Edge]| {
            es.iter()
                .map(|e| format!("{}>{}", e.from, e.to))
                .collect::<Vec<_>>()
        };
        assert_eq!(ends(&diff.edges.added), ["a>c", "c>d"]);
        assert_eq!(ends(&diff.edges.removed), ["a>b"]);
        assert_eq!(diff.other, ["settings"]);
        assert_eq!(
            diff.summary(),
            "2 nodes added, 1 removed, 2 changed; 2 edges added, 1 removed; settings changed"
        );
    }

    #[test]
    fn written_out_defaults_are_no_change() {
        let mut same = before();
        same["nodes"][2].as_object_mut().unwrap().remove("on_error");
        let diff = diff_definitions(&before(), &same);
        assert_eq!(diff, DefinitionDiff::default());
        assert_eq!(diff.summary(), "no changes");
    }

    #[test]
    fn one_of_a_kind_is_singular() {
        let mut after = before();
        after["edges"].as_array_mut().unwrap().pop();
        assert_eq!(
            diff_definitions(&before(), &after).summary(),
            "1 edge removed"
        );
        assert_eq!(
            diff_definitions(&json!({}), &before()).summary(),
            "3 nodes added; 2 edges added"
        );
    }
}
