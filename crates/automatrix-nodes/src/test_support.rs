//! Helpers for driving nodes directly through the [`Node`] trait in unit tests, and
//! [`FakeServices`]: an in-memory stand-in for the engine's node services.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;
use automatrix_core::expr::{Expressions, Limits, Scope};
use automatrix_core::{
    Credential, ExecutionId, KvAnswer, KvOp, Node, NodeContext, NodeError, NodeOutput,
    NodeServices, SubRun, WorkflowId,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// One sandbox pool for the whole test binary: starting QuickJS per test is wasted work.
static EXPRESSIONS: LazyLock<Expressions> =
    LazyLock::new(|| Expressions::new(2, Limits::default()));

/// A context for node `node_id` whose `$json` is `input`.
pub fn ctx_with_input(node_id: &str, input: &Value) -> NodeContext {
    let execution_id = ExecutionId::new();
    let workflow_id = WorkflowId::new();
    let scope = Scope {
        json: input.clone(),
        trigger: input.clone(),
        execution: serde_json::json!({
            "id": execution_id.to_string(),
            "workflow_id": workflow_id.to_string(),
            "attempt": 1,
        }),
        now: "2026-01-01T00:00:00Z".to_owned(),
        ..Scope::default()
    };
    NodeContext {
        execution_id,
        workflow_id,
        node_id: node_id.to_owned(),
        attempt: 1,
        cancel: CancellationToken::new(),
        expressions: EXPRESSIONS.clone(),
        scope: Arc::new(scope),
        resume: None,
        services: Arc::new(automatrix_core::NoServices),
        dry_run: false,
    }
}

/// Runs `node` once with `config` and `input`, in a fresh context.
pub async fn run(
    node: &(impl Node + ?Sized),
    config: Value,
    input: Value,
) -> Result<NodeOutput, NodeError> {
    let ctx = ctx_with_input("step", &input);
    node.execute(&ctx, config, input).await
}

/// A stored value and when it expires.
type Entry = (Value, Option<DateTime<Utc>>);

/// Node services in memory: a key-value store with the store's semantics (expiry,
/// `only_if_absent`, increments from 0 that keep their first expiry) and a canned answer for
/// every sub-workflow, which records the calls it got.
pub struct FakeServices {
    entries: Mutex<HashMap<String, Entry>>,
    credentials: Mutex<HashMap<String, Credential>>,
    sub_answer: Result<Value, NodeError>,
    /// The sub-workflow calls made, in order.
    pub sub_runs: Mutex<Vec<SubRun>>,
}

impl FakeServices {
    /// Empty key-value store; sub-workflows answer `sub_answer`.
    pub fn new(sub_answer: Result<Value, NodeError>) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::default(),
            credentials: Mutex::default(),
            sub_answer,
            sub_runs: Mutex::default(),
        })
    }

    /// Adds credential `id` of type `kind` holding `data`.
    pub fn add_credential(&self, id: &str, kind: &str, data: Value) {
        let credential = Credential {
            kind: kind.to_owned(),
            data,
        };
        self.credentials
            .lock()
            .expect("lock")
            .insert(id.to_owned(), credential);
    }

    /// A context for node `node_id` whose services are `self`.
    pub fn ctx(self: &Arc<Self>, node_id: &str, input: &Value) -> NodeContext {
        NodeContext {
            services: self.clone(),
            ..ctx_with_input(node_id, input)
        }
    }

    /// When `key` expires, as stored (`None` also when there is no such key).
    pub fn expires_at(&self, key: &str) -> Option<DateTime<Utc>> {
        self.entries.lock().expect("lock").get(key)?.1
    }

    fn live(&self, key: &str, now: DateTime<Utc>) -> Option<Value> {
        let entries = self.entries.lock().expect("lock");
        let (value, expires_at) = entries.get(key)?;
        expires_at.is_none_or(|at| at > now).then(|| value.clone())
    }
}

#[async_trait]
impl NodeServices for FakeServices {
    async fn credential(&self, id: &str) -> Result<Credential, NodeError> {
        self.credentials
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .ok_or_else(|| NodeError::fatal(format!("credential {id} does not exist")))
    }

    async fn kv(&self, op: KvOp) -> Result<KvAnswer, NodeError> {
        let now = Utc::now();
        let answer = |value: Value, hit: bool| Ok(KvAnswer { value, hit });
        match op {
            KvOp::Get { key } => match self.live(&key, now) {
                Some(value) => answer(value, true),
                None => answer(Value::Null, false),
            },
            KvOp::Set {
                key,
                value,
                expires_at,
                only_if_absent,
            } => {
                if only_if_absent && let Some(present) = self.live(&key, now) {
                    return answer(present, false);
                }
                let mut entries = self.entries.lock().expect("lock");
                entries.insert(key, (value.clone(), expires_at));
                answer(value, true)
            }
            KvOp::Increment {
                key,
                by,
                expires_at,
            } => {
                let current = self.live(&key, now);
                let mut entries = self.entries.lock().expect("lock");
                let expiry = match current {
                    Some(_) => entries[&key].1,
                    None => expires_at,
                };
                let base = current.unwrap_or(Value::from(0));
                let Some(n) = base.as_f64() else {
                    return Err(NodeError::fatal(format!(
                        "key-value store: the value of `{key}` is not a number"
                    )));
                };
                let sum = n + by;
                #[allow(clippy::cast_possible_truncation)]
                let value = if base.is_i64() && sum.fract() == 0.0 {
                    Value::from(sum as i64)
                } else {
                    Value::from(sum)
                };
                entries.insert(key, (value.clone(), expiry));
                answer(value, true)
            }
            KvOp::Delete { key } => {
                let was_live = self.live(&key, now).is_some();
                self.entries.lock().expect("lock").remove(&key);
                answer(Value::Null, was_live)
            }
        }
    }

    async fn run_workflow(&self, run: SubRun) -> Result<Value, NodeError> {
        self.sub_runs.lock().expect("lock").push(run);
        self.sub_answer.clone()
    }
}

/// Runs `node` once with `config` and a null input, with credential `id` of `kind` holding
/// `data`.
pub async fn run_with_credential(
    node: &(impl Node + ?Sized),
    config: Value,
    (id, kind, data): (&str, &str, Value),
) -> Result<NodeOutput, NodeError> {
    let services = FakeServices::new(Err(NodeError::fatal("no sub-workflows here")));
    services.add_credential(id, kind, data);
    node.execute(&services.ctx("step", &Value::Null), config, Value::Null)
        .await
}
