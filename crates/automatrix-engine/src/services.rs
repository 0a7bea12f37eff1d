//! The [`NodeServices`] of a run: credentials, key-value entries, sub-workflows and AI routes,
//! budget and accounting, each bound
//! to the organization and workflow of the execution, so a node can only reach its own
//! tenant's data.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::ai::{AiUsage, Route};
use automatrix_core::{
    Credential, ExecutionStatus, KvAnswer, KvOp, NodeError, NodeServices, SubRun,
};
use automatrix_store::{CreateOnce, Execution, NewExecution, Origin, Store, StoreError};
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::ai::{budget_check, record_usage, usage_row};
use crate::credentials::open_credential;
use crate::finished::{Finished, next_hint};
use crate::live::LiveBus;
use crate::service::{IDEMPOTENCY_WINDOW, queued_execution};
use crate::vault::Vault;

/// How long one read of a sub-workflow's state may wait for an announcement; the calling
/// step's timeout bounds the whole wait.
const SUB_RUN_RECHECK: Duration = Duration::from_secs(60);

pub(crate) struct RunServices {
    pub store: Arc<dyn Store>,
    pub vault: Vault,
    pub finished: Finished,
    pub wake: Arc<Notify>,
    pub organization_id: Uuid,
    pub workflow_id: Uuid,
    pub live: LiveBus,
    pub metrics: crate::metrics::Metrics,
    /// The id of the request that started the calling execution, which the executions it
    /// starts record too.
    pub request_id: Option<String>,
}

fn store_error(what: &str, e: StoreError) -> NodeError {
    match e {
        StoreError::Conflict(m) => NodeError::fatal(format!("{what}: {m}")),
        other => NodeError::retryable(format!("{what}: {other}")),
    }
}

#[async_trait]
impl NodeServices for RunServices {
    async fn credential(&self, id: &str) -> Result<Credential, NodeError> {
        open_credential(&*self.store, &self.vault, self.organization_id, id).await
    }

    async fn kv(&self, op: KvOp) -> Result<KvAnswer, NodeError> {
        self.store
            .kv(self.organization_id, self.workflow_id, op, Utc::now())
            .await
            .map_err(|e| store_error("key-value store", e))
    }

    async fn ai_route(&self, alias: &str) -> Result<Option<Route>, NodeError> {
        let row = self
            .store
            .get_ai_route(self.organization_id, alias)
            .await
            .map_err(|e| store_error("reading the AI route", e))?;
        Ok(row.map(|r| r.definition.0))
    }

    async fn ai_budget_check(&self) -> Result<(), NodeError> {
        budget_check(&*self.store, self.organization_id, Utc::now())
            .await
            .map_err(NodeError::fatal)
    }

    async fn record_ai_usage(&self, usage: AiUsage) -> Result<(), NodeError> {
        let row = usage_row(
            self.organization_id,
            Some(self.workflow_id),
            usage,
            Utc::now(),
        );
        record_usage(&*self.store, &self.live, &self.metrics, row)
            .await
            .map_err(|e| store_error("recording AI usage", e))
    }

    /// Queues the called workflow's execution (once per idempotency key, so a retried step
    /// finds the run it started) and waits for it to end.
    async fn run_workflow(&self, run: SubRun) -> Result<Value, NodeError> {
        let Ok(id) = Uuid::parse_str(run.workflow_id.trim()) else {
            return Err(NodeError::fatal(format!(
                "workflow_id `{}` is not a workflow id (a UUID)",
                run.workflow_id
            )));
        };
        if id == self.workflow_id {
            return Err(NodeError::fatal(
                "a workflow cannot call itself as a sub-workflow",
            ));
        }
        let workflow = self
            .store
            .get_workflow(self.organization_id, id)
            .await
            .map_err(|e| store_error("reading the sub-workflow", e))?
            .ok_or_else(|| NodeError::fatal(format!("workflow {id} does not exist")))?;
        let now = Utc::now();
        let new = NewExecution {
            dry_run: run.dry_run,
            ..queued_execution(
                &workflow,
                run.input,
                now,
                // The called workflow's run goes on from the caller's request and trace.
                Origin {
                    request_id: self.request_id.clone(),
                    trace_context: crate::trace::current(),
                },
            )
        };
        let created = self
            .store
            .create_execution_once(new, &run.idempotency_key, now - IDEMPOTENCY_WINDOW)
            .await
            .map_err(|e| store_error("starting the sub-workflow", e))?;
        let execution = match created {
            CreateOnce::Created(e) => {
                self.wake.notify_one();
                e
            }
            CreateOnce::Existing(e) => e,
        };
        let ended = tokio::select! {
            biased;
            () = run.cancel.cancelled() => {
                return Err(NodeError::fatal("cancelled while waiting for the sub-workflow"));
            }
            ended = self.ended(execution.id) => ended?,
        };
        if ended.status == ExecutionStatus::Completed {
            return Ok(ended.output_data.map_or(Value::Null, |o| o.0));
        }
        let status = ended.status.as_str();
        let mut message = format!(
            "sub-workflow \"{}\" (execution {}) {status}",
            workflow.name, ended.id
        );
        if let Some(reason) = &ended.error_message {
            message.push_str(": ");
            message.push_str(reason);
        }
        Err(NodeError::fatal(message).with_data(json!({
            "execution_id": ended.id,
            "status": status,
            "error": ended.error_message,
        })))
    }
}

impl RunServices {
    /// The execution once it has ended: re-read when a worker of this process announces it,
    /// and now and then besides (another process may run it).
    async fn ended(&self, id: Uuid) -> Result<Execution, NodeError> {
        let mut announcements = self.finished.subscribe();
        loop {
            let execution = self
                .store
                .get_execution(self.organization_id, id)
                .await
                .map_err(|e| store_error("reading the sub-workflow's execution", e))?
                .ok_or_else(|| NodeError::fatal(format!("execution {id} was deleted")))?;
            if execution.status.is_terminal() {
                return Ok(execution);
            }
            next_hint(&mut announcements, id, SUB_RUN_RECHECK).await;
        }
    }
}
