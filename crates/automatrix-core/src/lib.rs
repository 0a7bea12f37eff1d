//! Domain types of AutoMatrix, free of I/O: ids, the workflow definition and its validation,
//! definition diffs and the export document format, the expression sandbox, execution and step
//! states, cron schedules, roles, and the node trait with its registry.
//!
//! Everything here is shared by the engine (which runs workflows), the API (which validates and
//! stores them) and the node crates (which implement node types against [`node::Node`]).

pub mod ai;
pub mod credentials;
pub mod definition;
pub mod diff;
pub mod document;
pub mod expr;
pub mod graph;
pub mod ids;
pub mod node;
pub mod registry;
pub mod role;
pub mod schedule;
pub mod services;
pub mod status;
pub mod template;
pub mod validate;

pub use definition::{EdgeDef, NodeDef, OnError, RetryPolicy, WorkflowDefinition};
pub use graph::Graph;
pub use ids::{ExecutionId, OrganizationId, UserId, WorkflowId};
pub use node::{
    ConfigIssue, FanOut, FanOutItems, Node, NodeContext, NodeError, NodeOutput, NodeSpec, Wait,
};
pub use registry::NodeRegistry;
pub use role::Role;
pub use schedule::{CatchUp, Plan, SCHEDULE_TRIGGER, Schedule, schedule_of, time_zone};
pub use services::{Credential, KvAnswer, KvOp, NoServices, NodeServices, SubRun};
pub use status::{ExecutionStatus, StepStatus};
pub use validate::{Problem, ValidatedWorkflow, validate_definition};
