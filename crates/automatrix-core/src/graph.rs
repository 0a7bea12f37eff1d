//! The compiled shape of a definition: node indexes, edges by port, a topological order.
//! Built once per definition version and shared by every step of every execution.
//!
//! A fan-out node (`logic.foreach`) owns a *body*: the nodes reachable from its body port,
//! which the engine runs once per item instead of once per execution. The graph records which
//! body each node belongs to, so the engine steps the main graph without them.

use std::collections::HashMap;

use crate::definition::WorkflowDefinition;
use crate::node::MAIN_PORT;

/// An edge as the engine uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub from: usize,
    pub port: String,
    pub to: usize,
}

#[derive(Clone, Debug)]
pub struct Graph {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    outgoing: Vec<Vec<Link>>,
    incoming: Vec<Vec<Link>>,
    order: Vec<usize>,
    trigger: usize,
    /// For each node, the fan-out node whose body it belongs to.
    body_of: Vec<Option<usize>>,
    /// For each fan-out node, its body port and its body (in topological order).
    bodies: HashMap<usize, (String, Vec<usize>)>,
}

/// The graph has a cycle; the nodes left over by the topological sort.
#[derive(Debug)]
pub struct Cycle(pub Vec<usize>);

impl Graph {
    /// Builds the graph. Every edge endpoint must name an existing node (the validator checks
    /// that first); `trigger` is the index of the trigger node.
    pub fn build(def: &WorkflowDefinition, trigger: usize) -> Result<Self, Cycle> {
        let ids: Vec<String> = def.nodes.iter().map(|n| n.id.clone()).collect();
        let index: HashMap<String, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let mut outgoing = vec![Vec::new(); ids.len()];
        let mut incoming = vec![Vec::new(); ids.len()];
        for e in &def.edges {
            let (Some(&from), Some(&to)) = (index.get(&e.from), index.get(&e.to)) else {
                continue;
            };
            let port = e.output.clone().unwrap_or_else(|| MAIN_PORT.to_owned());
            let link = Link { from, port, to };
            outgoing[from].push(link.clone());
            incoming[to].push(link);
        }
        let order = topological(&incoming, &outgoing)?;
        let body_of = vec![None; ids.len()];
        Ok(Self {
            ids,
            index,
            outgoing,
            incoming,
            body_of,
            bodies: HashMap::new(),
            order,
            trigger,
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub fn trigger(&self) -> usize {
        self.trigger
    }

    pub fn outgoing(&self, i: usize) -> &[Link] {
        &self.outgoing[i]
    }

    pub fn incoming(&self, i: usize) -> &[Link] {
        &self.incoming[i]
    }

    /// Nodes in an order where every node comes after its predecessors.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Nodes with no outgoing edges.
    pub fn is_sink(&self, i: usize) -> bool {
        self.outgoing[i].is_empty()
    }

    /// The nodes reachable from the `port` edges of `fan_out` (not `fan_out` itself), in
    /// topological order: the body it would own.
    pub fn reachable_through(&self, fan_out: usize, port: &str) -> Vec<usize> {
        let mut seen = vec![false; self.len()];
        for l in self.outgoing[fan_out].iter().filter(|l| l.port == port) {
            for (i, s) in self.reachable_from(l.to).into_iter().enumerate() {
                seen[i] |= s;
            }
        }
        self.order.iter().copied().filter(|&i| seen[i]).collect()
    }

    /// Makes `body` the body of `fan_out` (entered through its `port` edges). The validator
    /// calls it once it checked the body is closed and holds no other fan-out node.
    pub fn set_body(&mut self, fan_out: usize, port: &str, body: Vec<usize>) {
        for &i in &body {
            self.body_of[i] = Some(fan_out);
        }
        self.bodies.insert(fan_out, (port.to_owned(), body));
    }

    /// The fan-out node whose body `i` belongs to.
    pub fn body_of(&self, i: usize) -> Option<usize> {
        self.body_of[i]
    }

    /// The body port and the body of a fan-out node; `None` for any other node.
    pub fn body(&self, fan_out: usize) -> Option<(&str, &[usize])> {
        self.bodies
            .get(&fan_out)
            .map(|(port, body)| (port.as_str(), body.as_slice()))
    }

    /// Indexes reachable from `start` (including it).
    pub fn reachable_from(&self, start: usize) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(self.outgoing[i].iter().map(|l| l.to));
        }
        seen
    }
}

/// Kahn's algorithm; nodes never freed are on (or behind) a cycle.
fn topological(incoming: &[Vec<Link>], outgoing: &[Vec<Link>]) -> Result<Vec<usize>, Cycle> {
    let mut pending: Vec<usize> = incoming.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..pending.len()).filter(|&i| pending[i] == 0).collect();
    ready.reverse();
    let mut order = Vec::with_capacity(pending.len());
    while let Some(i) = ready.pop() {
        order.push(i);
        for l in &outgoing[i] {
            pending[l.to] -= 1;
            if pending[l.to] == 0 {
                ready.push(l.to);
            }
        }
    }
    if order.len() == pending.len() {
        Ok(order)
    } else {
        Err(Cycle(
            (0..pending.len()).filter(|&i| pending[i] > 0).collect(),
        ))
    }
}
