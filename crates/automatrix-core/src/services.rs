//! What a running node may ask of the engine besides its config and input: the organization's
//! credentials, the workflow's key-value store, other workflows of the organization, and its
//! AI routes, budget and usage accounting.
//!
//! The engine gives each run one [`NodeServices`] bound to the run's organization, workflow and
//! execution, so a node can never name another tenant's data. Where there is no store (a
//! definition run with `automatrix run FILE`, a unit test), [`NoServices`] answers every call
//! with a clear error.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::ai::{AiUsage, Route};
use crate::node::NodeError;

/// A credential's type and its decrypted data. `Debug` never shows the data.
#[derive(Clone, PartialEq)]
pub struct Credential {
    /// `smtp`, `http_bearer`, ... (see [`crate::credentials`]).
    pub kind: String,
    pub data: Value,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("kind", &self.kind)
            .field("data", &"<redacted>")
            .finish()
    }
}

impl Credential {
    /// The credential, when its type is one of `kinds`; else a fatal error naming what the
    /// node accepts.
    pub fn expect_kind(self, kinds: &[&str]) -> Result<Self, NodeError> {
        if kinds.contains(&self.kind.as_str()) {
            Ok(self)
        } else {
            Err(NodeError::fatal(format!(
                "the credential is of type `{}`; this node takes {}",
                self.kind,
                kinds
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }

    /// A string field of the data (`""` when missing: the type's schema was checked on save).
    pub fn text(&self, field: &str) -> &str {
        self.data[field].as_str().unwrap_or_default()
    }

    /// An optional string field of the data.
    pub fn optional_text(&self, field: &str) -> Option<&str> {
        self.data[field].as_str().filter(|s| !s.is_empty())
    }
}

/// One operation on the workflow's key-value store (`data.kv`). Serialized (what a dry run
/// shows instead of doing it) as `{"operation": "set", "key": …, …}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum KvOp {
    /// The value, or null when the key is absent or expired.
    Get { key: String },
    /// Stores `value`. With `only_if_absent`, leaves a present (unexpired) value alone; the
    /// answer says whether it stored.
    Set {
        key: String,
        value: Value,
        expires_at: Option<DateTime<Utc>>,
        only_if_absent: bool,
    },
    /// Adds `by` to a number (an absent key counts as 0) and answers the new value.
    Increment {
        key: String,
        by: f64,
        expires_at: Option<DateTime<Utc>>,
    },
    /// Removes the key; the answer says whether it was there.
    Delete { key: String },
}

/// What a [`KvOp`] found or did.
#[derive(Clone, Debug, PartialEq)]
pub struct KvAnswer {
    /// `Get`: the value or null; `Set`: the stored value (the present one when
    /// `only_if_absent` left it); `Increment`: the new number; `Delete`: null.
    pub value: Value,
    /// `Get`: whether the key was there; `Set`: whether it stored; `Increment`: true;
    /// `Delete`: whether it was there.
    pub hit: bool,
}

/// A workflow to run from inside another one (`flow.subworkflow`).
#[derive(Clone, Debug)]
pub struct SubRun {
    /// The called workflow's id, as written in the config.
    pub workflow_id: String,
    pub input: Value,
    /// Stable across retries of the calling step, so a retry finds the run it started.
    pub idempotency_key: String,
    pub cancel: CancellationToken,
    /// The calling execution is a dry run: the called one is too.
    pub dry_run: bool,
}

/// The engine's side of a running node. See the module docs.
#[async_trait]
pub trait NodeServices: Send + Sync {
    /// The credential `id` of the run's organization, decrypted.
    async fn credential(&self, id: &str) -> Result<Credential, NodeError>;

    /// One operation on the key-value store of the run's workflow.
    async fn kv(&self, op: KvOp) -> Result<KvAnswer, NodeError>;

    /// Runs another workflow of the organization to its end and answers its output.
    async fn run_workflow(&self, run: SubRun) -> Result<Value, NodeError>;

    /// The organization's AI route `alias`, if it has one. By default (a run without a store)
    /// none: AI nodes then answer from the built-in mock through the route `default`.
    async fn ai_route(&self, _alias: &str) -> Result<Option<Route>, NodeError> {
        Ok(None)
    }

    /// Whether the organization may make another AI call now: a fatal error whose message
    /// says "budget" when its monthly AI budget is used up. By default there is no budget.
    async fn ai_budget_check(&self) -> Result<(), NodeError> {
        Ok(())
    }

    /// Accounts for one AI call of the run (the engine adds organization and workflow). By
    /// default nothing is kept.
    async fn record_ai_usage(&self, _usage: AiUsage) -> Result<(), NodeError> {
        Ok(())
    }
}

/// Services for runs without a store: every call fails with a fatal error saying so.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoServices;

fn unavailable(what: &str) -> NodeError {
    NodeError::fatal(format!(
        "{what} need a server (`automatrix serve`); this run has no store"
    ))
}

#[async_trait]
impl NodeServices for NoServices {
    async fn credential(&self, _id: &str) -> Result<Credential, NodeError> {
        Err(unavailable("credentials"))
    }

    async fn kv(&self, _op: KvOp) -> Result<KvAnswer, NodeError> {
        Err(unavailable("key-value operations"))
    }

    async fn run_workflow(&self, _run: SubRun) -> Result<Value, NodeError> {
        Err(unavailable("sub-workflows"))
    }
}
