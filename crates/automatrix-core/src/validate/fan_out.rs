//! The bodies of fan-out nodes (`logic.foreach`): the nodes reachable from the body port, run
//! once per item. A body must be closed (entered only through the body port, so that no node
//! outside it waits for a node that runs many times), must not answer a webhook (it would
//! answer once per item) and must not hold another fan-out node (nested loops are not
//! supported).

use crate::definition::WorkflowDefinition;
use crate::graph::Graph;
use crate::node::MAIN_PORT;

use super::{NodeInfo, Validator};

impl Validator<'_> {
    /// Checks every fan-out node's body and, when it is sound, records it in the graph.
    pub(super) fn bodies(
        &mut self,
        graph: &mut Graph,
        nodes: &[NodeInfo<'_>],
        definition: &WorkflowDefinition,
        edge_key: &str,
    ) {
        for f in 0..nodes.len() {
            let Some(reg) = nodes[f].reg else { continue };
            let Some(fan_out) = reg.spec.fan_out else {
                continue;
            };
            let before = self.problems.len();
            let body = graph.reachable_through(f, fan_out.body);
            let owner = format!("`{}` ({})", nodes[f].id, reg.spec.kind);
            let mut by_index = body.clone();
            by_index.sort_unstable();
            for &b in &by_index {
                let Some(inner) = nodes[b].reg else { continue };
                if inner.spec.fan_out.is_some() {
                    self.push(
                        &format!("nodes[{b}].type"),
                        &format!(
                            "`{}` ({}) is inside the body of {owner}: loops cannot be nested; \
                             loop over the inner list in another workflow, or flatten the list first",
                            nodes[b].id, inner.spec.kind
                        ),
                    );
                }
                if inner.spec.answers_webhook {
                    self.push(
                        &format!("nodes[{b}].type"),
                        &format!(
                            "`{}` ({}) cannot be inside the body of {owner}: it would answer the \
                             webhook caller once per item; connect it after the `{}` port",
                            nodes[b].id, inner.spec.kind, fan_out.done
                        ),
                    );
                }
                // A node reached from outside the body as well runs after the loop, once: the
                // edges into it from inside the body (which runs once per item) are the fault.
                let incoming = graph.incoming(b);
                let inside = |from: usize, port: &str| {
                    (from == f && port == fan_out.body) || body.contains(&from)
                };
                let Some(outside) = incoming.iter().find(|l| !inside(l.from, &l.port)) else {
                    continue;
                };
                let name = |from: usize, port: &str| {
                    if from == f {
                        format!("the `{port}` port of `{}`", nodes[f].id)
                    } else {
                        format!("`{}`", nodes[from].id)
                    }
                };
                for l in incoming.iter().filter(|l| inside(l.from, &l.port)) {
                    let k = definition.edges.iter().position(|e| {
                        e.from == graph.id(l.from)
                            && e.to == graph.id(b)
                            && e.output.as_deref().unwrap_or(MAIN_PORT) == l.port
                    });
                    let path =
                        k.map_or_else(|| edge_key.to_owned(), |k| format!("{edge_key}[{k}]"));
                    self.push(
                        &path,
                        &format!(
                            "`{}` is reached from {}, outside the body of {owner}, so it runs \
                             once, after the loop; it cannot also follow {}, which runs once \
                             per item; a body's results leave only through the `{}` port",
                            nodes[b].id,
                            name(outside.from, &outside.port),
                            name(l.from, &l.port),
                            fan_out.done
                        ),
                    );
                }
            }
            if self.problems.len() == before {
                graph.set_body(f, fan_out.body, body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;
    use serde_json::{Value, json};

    use crate::node::{FanOut, Node, NodeSpec};
    use crate::registry::NodeRegistry;
    use crate::validate::validate_definition;

    struct Trigger;
    struct Set;
    struct Each;
    struct Respond;

    #[async_trait]
    impl Node for Trigger {
        fn spec(&self) -> NodeSpec {
            NodeSpec {
                is_trigger: true,
                ..NodeSpec::new("t.trigger", "Trigger", "trigger")
            }
        }
    }

    #[async_trait]
    impl Node for Set {
        fn spec(&self) -> NodeSpec {
            NodeSpec::new("t.set", "Set", "transform")
        }
    }

    #[async_trait]
    impl Node for Each {
        fn spec(&self) -> NodeSpec {
            NodeSpec {
                outputs: vec!["item", "done"],
                fan_out: Some(FanOut {
                    body: "item",
                    done: "done",
                }),
                ..NodeSpec::new("t.each", "Each", "logic")
            }
        }
    }

    #[async_trait]
    impl Node for Respond {
        fn spec(&self) -> NodeSpec {
            NodeSpec {
                answers_webhook: true,
                ..NodeSpec::new("t.respond", "Respond", "respond")
            }
        }
    }

    fn registry() -> NodeRegistry {
        let mut r = NodeRegistry::new();
        r.register(Trigger)
            .register(Set)
            .register(Each)
            .register(Respond);
        r
    }

    /// start → each; each.item → a → b; each.done → after; plus `extra` nodes and edges.
    fn looped(extra_nodes: &[Value], extra_edges: &[Value]) -> Value {
        let mut nodes = vec![
            json!({"id": "start", "type": "t.trigger"}),
            json!({"id": "each", "type": "t.each"}),
            json!({"id": "a", "type": "t.set"}),
            json!({"id": "b", "type": "t.set"}),
            json!({"id": "after", "type": "t.set"}),
        ];
        nodes.extend_from_slice(extra_nodes);
        let mut edges = vec![
            json!({"from": "start", "to": "each"}),
            json!({"from": "each", "output": "item", "to": "a"}),
            json!({"from": "a", "to": "b"}),
            json!({"from": "each", "output": "done", "to": "after"}),
        ];
        edges.extend_from_slice(extra_edges);
        json!({"nodes": nodes, "edges": edges})
    }

    fn problems(def: &Value) -> Vec<(String, String)> {
        validate_definition(def, &registry())
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.path, p.issue))
            .collect()
    }

    #[test]
    fn the_body_is_every_node_reachable_from_the_item_port() {
        let wf = validate_definition(&looped(&[], &[]), &registry()).unwrap();
        let g = &wf.graph;

        let (port, body) = g.body(1).unwrap();

        assert_eq!(port, "item");
        let ids: Vec<&str> = body.iter().map(|&i| g.id(i)).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(g.body_of(2), Some(1));
        assert_eq!(g.body_of(4), None, "after `done` is the main graph");
    }

    #[test]
    fn a_body_that_reaches_a_node_after_done_is_refused_at_that_edge() {
        let def = looped(&[], &[json!({"from": "b", "to": "after"})]);

        let found = problems(&def);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "edges[4]");
        assert_eq!(
            found[0].1,
            "`after` is reached from the `done` port of `each`, outside the body of `each` \
             (t.each), so it runs once, after the loop; it cannot also follow `b`, which runs \
             once per item; a body's results leave only through the `done` port"
        );
    }

    #[test]
    fn a_body_entered_from_outside_is_refused() {
        let def = looped(&[], &[json!({"from": "start", "to": "a"})]);

        let found = problems(&def);

        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "edges[1]", "the edge from the loop into `a`");
        assert!(
            found[0].1.contains("`a` is reached from `start`"),
            "{}",
            found[0].1
        );
    }

    #[test]
    fn a_nested_loop_and_a_webhook_answer_inside_a_body_are_refused() {
        let def = looped(
            &[
                json!({"id": "inner", "type": "t.each"}),
                json!({"id": "reply", "type": "t.respond"}),
            ],
            &[
                json!({"from": "b", "to": "inner"}),
                json!({"from": "a", "to": "reply"}),
            ],
        );

        let found = problems(&def);

        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["nodes[5].type", "nodes[6].type"], "{found:?}");
        assert!(
            found[0].1.contains("loops cannot be nested"),
            "{}",
            found[0].1
        );
        assert!(
            found[1]
                .1
                .contains("once per item; connect it after the `done` port"),
            "{}",
            found[1].1
        );
    }

    #[test]
    fn a_loop_without_a_body_or_without_done_edges_is_valid() {
        let bare = json!({
            "nodes": [{"id": "start", "type": "t.trigger"}, {"id": "each", "type": "t.each"}],
            "edges": [{"from": "start", "to": "each"}]
        });
        let body_only = json!({
            "nodes": [{"id": "start", "type": "t.trigger"}, {"id": "each", "type": "t.each"}, {"id": "a", "type": "t.set"}],
            "connections": [{"from": "start", "to": "each"}, {"from": "each", "output": "item", "to": "a"}]
        });

        assert!(problems(&bare).is_empty());
        assert!(problems(&body_only).is_empty());
    }
}
