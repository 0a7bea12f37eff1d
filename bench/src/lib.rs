//! Shared pieces of the benchmarks in `benches/` (see `bench/README.md`): the node registry
//! and the workflow shapes they run.

use std::sync::Arc;

use automatrix_core::NodeRegistry;
use automatrix_nodes::{HttpPolicy, NodesConfig, register_builtin};
use serde_json::{Value, json};

/// Every built-in node, outbound HTTP to public hosts only (no benchmark calls out).
pub fn registry() -> Arc<NodeRegistry> {
    let mut r = NodeRegistry::new();
    register_builtin(
        &mut r,
        &NodesConfig {
            http: HttpPolicy {
                allow_private: false,
                allow_hosts: Vec::new(),
            },
        },
    );
    Arc::new(r)
}

/// CPU seconds this process has used so far (every thread, user and system), from
/// `/proc/self/stat` in clock ticks of 10 ms; 0 where there is no `/proc`.
pub fn process_cpu_seconds() -> f64 {
    let Ok(me) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which may hold spaces: utime and stime are 12th and 13th.
    let Some(rest) = me.rfind(')').map(|i| &me[i + 1..]) else {
        return 0.0;
    };
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    ticks as f64 * 0.01
}

/// A chain of `nodes` nodes: a `trigger.manual` and `nodes - 1` `transform.set` steps.
/// `with_expr` puts an expression in each `transform.set`.
///
/// `chain(2, false)` is the "one-step" workflow (trigger + one `transform.set`);
/// `chain(10, false)` the ten-step chain.
pub fn chain(nodes: usize, with_expr: bool) -> Value {
    assert!(nodes >= 1, "a chain needs its trigger");
    let mut list = vec![json!({"id": "n0", "type": "trigger.manual"})];
    let mut edges = Vec::new();
    for i in 1..nodes {
        let value = if with_expr {
            json!("{{ $json.score + 1 }}")
        } else {
            json!(i)
        };
        list.push(json!({
            "id": format!("n{i}"),
            "type": "transform.set",
            "config": {"fields": {"score": value, format!("step{i}"): true}},
        }));
        edges.push(json!({"from": format!("n{}", i - 1), "to": format!("n{i}")}));
    }
    json!({"nodes": list, "edges": edges})
}

/// A trigger, `width` parallel `transform.set` steps, and a `logic.merge` (mode
/// `merge_fields`) joining them: `width + 2` nodes.
pub fn fan_out(width: usize) -> Value {
    let mut list = vec![json!({"id": "start", "type": "trigger.manual"})];
    let mut edges = Vec::new();
    for i in 0..width {
        let id = format!("b{i:03}");
        list.push(json!({
            "id": id,
            "type": "transform.set",
            "config": {"fields": {format!("branch{i:03}"): i}, "keep_input": false},
        }));
        edges.push(json!({"from": "start", "to": id}));
        edges.push(json!({"from": id, "to": "join"}));
    }
    list.push(json!({"id": "join", "type": "logic.merge", "config": {"mode": "merge_fields"}}));
    json!({"nodes": list, "edges": edges})
}

#[cfg(test)]
mod tests {
    use automatrix_core::validate_definition;

    use super::*;

    #[test]
    fn the_shapes_are_valid_workflows() {
        let reg = registry();
        for (def, nodes) in [
            (chain(2, false), 2),
            (chain(10, true), 10),
            (fan_out(100), 102),
        ] {
            let wf = validate_definition(&def, &reg).expect("valid");
            assert_eq!(wf.graph.len(), nodes);
        }
    }
}
