//! The AI nodes: `ai.generate` (text), `ai.classify` (one of given labels) and `ai.extract`
//! (data valid against a JSON Schema). Each asks a route of the run's organization through the
//! process's [`Gateway`] and the run's node services (routes, budget, credentials, accounting),
//! and every output says which provider and model answered, the tokens and the cost.

mod classify;
mod extract;
mod generate;
mod instance;
mod structured;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::ai::{AiUsage, Route};
use automatrix_core::services::Credential;
use automatrix_core::{NodeContext, NodeError, NodeRegistry};
use serde_json::{Value, json};
use tracing::warn;
use uuid::Uuid;

use crate::ask::{AskError, DEFAULT_ROUTE, Tenant};
use crate::gateway::{AiError, Answer, CredentialUnavailable, Gateway};
use crate::provider::Prompt;

pub use classify::AiClassify;
pub use extract::AiExtract;
pub use generate::AiGenerate;

/// Registers `ai.generate`, `ai.classify` and `ai.extract`, all calling through `gateway`.
pub fn register_nodes(registry: &mut NodeRegistry, gateway: &Arc<Gateway>) {
    registry
        .register(AiGenerate::new(gateway.clone()))
        .register(AiClassify::new(gateway.clone()))
        .register(AiExtract::new(gateway.clone()));
}

/// The config schema of the route alias every AI node takes as `model`.
fn model_schema() -> Value {
    json!({
        "description": "The AI route to ask (an alias set up with PUT /api/ai/routes/{alias}). `default` works without any setup: the built-in mock answers until the organization configures a `default` route.",
        "type": "string",
        "default": DEFAULT_ROUTE,
        "minLength": 1,
        "maxLength": 64,
    })
}

fn default_model() -> String {
    DEFAULT_ROUTE.to_owned()
}

/// The run's node services as the gateway's [`Tenant`]; usage rows name the execution and step.
struct RunTenant<'a>(&'a NodeContext);

#[async_trait]
impl Tenant for RunTenant<'_> {
    async fn route(&self, alias: &str) -> Result<Option<Route>, String> {
        self.0.services.ai_route(alias).await.map_err(|e| e.message)
    }

    async fn budget_check(&self) -> Result<(), String> {
        self.0
            .services
            .ai_budget_check()
            .await
            .map_err(|e| e.message)
    }

    async fn credential(&self, id: Uuid) -> Result<Credential, CredentialUnavailable> {
        self.0
            .services
            .credential(&id.to_string())
            .await
            .map_err(|e| CredentialUnavailable(e.message))
    }

    async fn record(&self, mut usage: AiUsage) {
        usage.execution_id = Some(self.0.execution_id.into());
        usage.node_id = Some(self.0.node_id.clone());
        if let Err(e) = self.0.services.record_ai_usage(usage).await {
            warn!(node = %self.0.node_id, error = %e, "AI usage not recorded");
        }
    }
}

/// Asks `alias` for the node `who`, giving up when the step is cancelled.
async fn ask(
    gateway: &Gateway,
    ctx: &NodeContext,
    who: &str,
    alias: &str,
    prompt: &Prompt,
) -> Result<Answer, NodeError> {
    let tenant = RunTenant(ctx);
    tokio::select! {
        biased;
        () = ctx.cancel.cancelled() => Err(NodeError::fatal(format!("{who}: cancelled"))),
        asked = gateway.ask(&tenant, alias, prompt) => asked.map_err(|e| node_error(who, &e)),
    }
}

/// A failed ask as a step error: retryable when every target failed transiently (the step's
/// retry policy may try again later), fatal otherwise. The attempts go in the error's data.
fn node_error(who: &str, e: &AskError) -> NodeError {
    let message = format!("{who}: {e}");
    let error = if e.retryable() {
        NodeError::retryable(message)
    } else {
        NodeError::fatal(message)
    };
    match e {
        AskError::Call(AiError::Failed { attempts }) => {
            error.with_data(json!({ "attempts": attempts }))
        }
        _ => error,
    }
}

/// `result` (an object literal) with what every AI output carries besides it: who answered,
/// the tokens and the cost (summed over `answers`, the calls one step made: `ai.extract` may
/// make two), the route, the answering target's index (the variant of a weighted route) and
/// every attempt.
fn with_account(mut result: Value, alias: &str, answers: &[Answer]) -> Value {
    let last = answers.last().expect("at least one answer");
    let input: u64 = answers.iter().map(|a| a.input_tokens).sum();
    let output: u64 = answers.iter().map(|a| a.output_tokens).sum();
    let cost: f64 = answers.iter().map(|a| a.cost_usd).sum();
    let attempts: Vec<_> = answers.iter().flat_map(|a| a.attempts.clone()).collect();
    result["provider"] = json!(last.provider);
    result["model"] = json!(last.model);
    result["route"] = json!(alias);
    result["variant"] = json!(last.target_index);
    result["usage"] = json!({"input_tokens": input, "output_tokens": output});
    result["cost_usd"] = json!(cost);
    result["attempts"] = json!(attempts);
    result
}
