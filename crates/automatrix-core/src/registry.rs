//! The set of node types a process knows. Built once at start-up by the binary (which names
//! the node crates), then shared read-only by the validator, the engine and the API.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::node::{Node, NodeSpec};

/// One registered node type: its implementation, its spec and its compiled config schema.
pub struct RegisteredNode {
    pub node: Arc<dyn Node>,
    pub spec: NodeSpec,
    pub(crate) schema: jsonschema::Validator,
}

impl std::fmt::Debug for RegisteredNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredNode")
            .field("kind", &self.spec.kind)
            .finish()
    }
}

/// Node types by their `kind`, in name order.
#[derive(Default, Debug)]
pub struct NodeRegistry {
    nodes: BTreeMap<&'static str, RegisteredNode>,
}

impl NodeRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a node type.
    ///
    /// # Panics
    /// When two node types share a kind or a spec's schema does not compile: both are
    /// programming errors caught by the first test that builds the registry.
    pub fn register(&mut self, node: impl Node) -> &mut Self {
        let spec = node.spec();
        let schema = jsonschema::validator_for(&spec.config_schema)
            .unwrap_or_else(|e| panic!("config schema of {} does not compile: {e}", spec.kind));
        let previous = self.nodes.insert(
            spec.kind,
            RegisteredNode {
                node: Arc::new(node),
                spec,
                schema,
            },
        );
        assert!(previous.is_none(), "node kind registered twice");
        self
    }

    pub fn get(&self, kind: &str) -> Option<&RegisteredNode> {
        self.nodes.get(kind)
    }

    pub fn specs(&self) -> impl Iterator<Item = &NodeSpec> {
        self.nodes.values().map(|n| &n.spec)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}
