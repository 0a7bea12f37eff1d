//! Asking a route on behalf of an organization: what the AI nodes and the OpenAI-compatible
//! proxy share. The budget is checked before anything else, the route alias is looked up (the
//! alias `default` falls back to the built-in mock when the organization has none), the
//! gateway calls the targets, and the call is accounted for, answered or not.

use async_trait::async_trait;
use automatrix_core::ai::{AiUsage, Route};
use automatrix_core::services::Credential;
use tracing::warn;
use uuid::Uuid;

use crate::gateway::{AiError, Answer, CredentialSource, CredentialUnavailable, Gateway};
use crate::mock::MOCK;
use crate::provider::Prompt;
use crate::stream::StreamingAnswer;

/// The route an organization gets without configuring one: answered by the mock.
pub const DEFAULT_ROUTE: &str = "default";

/// What the gateway needs of the organization it calls for: its routes, budget, provider
/// credentials and accounting. The engine's node services and the proxy implement it.
#[async_trait]
pub trait Tenant: Send + Sync {
    /// Route `alias`, if the organization has one; `Err` when it cannot be read (transient).
    async fn route(&self, alias: &str) -> Result<Option<Route>, String>;

    /// `Err` with a message that says "budget" when the organization may make no AI call.
    async fn budget_check(&self) -> Result<(), String>;

    /// A provider credential of the organization, decrypted.
    async fn credential(&self, id: Uuid) -> Result<Credential, CredentialUnavailable>;

    /// Keeps the record of one call. Failing to keep it is logged, not fatal: the call has
    /// been made (and paid for), and failing the caller would only make it call again.
    async fn record(&self, usage: AiUsage);
}

/// Why an ask gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AskError {
    /// The organization's budget is used up (the message says "budget"); no provider was called.
    #[error("{0}")]
    Budget(String),
    /// The organization has no route by this alias.
    #[error(
        "there is no AI route `{0}`: create it with PUT /api/ai/routes/{0} (only `default` works \
         without one, answered by the built-in mock)"
    )]
    NoRoute(String),
    /// The route could not be read (the store is unreachable): trying again may help.
    #[error("the AI route could not be read: {0}")]
    Lookup(String),
    #[error(transparent)]
    Call(#[from] AiError),
}

impl AskError {
    /// Whether asking again later may answer: a lookup failure, or every target failing with
    /// 429, 5xx, timeouts or connection errors (not a rejection).
    pub fn retryable(&self) -> bool {
        match self {
            Self::Lookup(_) => true,
            Self::Call(e @ AiError::Failed { .. }) => e.rejection().is_none(),
            _ => false,
        }
    }
}

/// A [`Tenant`]'s credentials as the gateway takes them.
pub struct TenantCredentials<'a>(pub &'a dyn Tenant);

#[async_trait]
impl CredentialSource for TenantCredentials<'_> {
    async fn credential(&self, id: Uuid) -> Result<Credential, CredentialUnavailable> {
        self.0.credential(id).await
    }
}

/// The route to call for `alias`: the organization's, or the mock for `default`. `None`
/// stands for the mock.
pub async fn resolve(tenant: &dyn Tenant, alias: &str) -> Result<Option<Route>, AskError> {
    tenant.budget_check().await.map_err(AskError::Budget)?;
    match tenant.route(alias).await.map_err(AskError::Lookup)? {
        Some(route) => Ok(Some(route)),
        None if alias == DEFAULT_ROUTE => Ok(None),
        None => Err(AskError::NoRoute(alias.to_owned())),
    }
}

/// The usage record of an answer.
pub fn answered(alias: &str, a: &Answer) -> AiUsage {
    AiUsage {
        route: alias.to_owned(),
        provider: a.provider.clone(),
        model: a.model.clone(),
        input_tokens: a.input_tokens,
        output_tokens: a.output_tokens,
        latency_ms: a.latency_ms,
        cost_usd: a.cost_usd,
        ok: true,
        execution_id: None,
        node_id: None,
    }
}

/// The usage record of a streamed answer, with the tokens its stream reported (or estimated).
pub fn answered_stream(
    alias: &str,
    a: &StreamingAnswer,
    input_tokens: u64,
    output_tokens: u64,
) -> AiUsage {
    AiUsage {
        route: alias.to_owned(),
        provider: a.provider.clone(),
        model: a.model.clone(),
        input_tokens,
        output_tokens,
        latency_ms: u64::try_from(a.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        cost_usd: a.cost_usd(input_tokens, output_tokens),
        ok: true,
        execution_id: None,
        node_id: None,
    }
}

/// The usage record of a call that got no answer: the last target tried, no tokens, no cost.
pub async fn unanswered(
    tenant: &dyn Tenant,
    alias: &str,
    route: &Route,
    error: &AiError,
    latency_ms: u64,
) -> AiUsage {
    let last = match error {
        AiError::Failed { attempts } => attempts.last().map(|a| a.target_index),
        _ => None,
    };
    let target = last.and_then(|i| route.targets.get(i));
    let provider = match target {
        Some(t) => tenant
            .credential(t.credential_id)
            .await
            .map_or_else(|_| "none".to_owned(), |c| c.kind),
        None => "none".to_owned(),
    };
    AiUsage {
        route: alias.to_owned(),
        provider,
        model: target.map_or_else(|| "none".to_owned(), |t| t.model.clone()),
        input_tokens: 0,
        output_tokens: 0,
        latency_ms,
        cost_usd: 0.0,
        ok: false,
        execution_id: None,
        node_id: None,
    }
}

impl Gateway {
    /// Asks route `alias` of `tenant` (see the module docs). Every call is recorded through
    /// [`Tenant::record`], including the mock's (free) and failed ones (no tokens).
    pub async fn ask(
        &self,
        tenant: &dyn Tenant,
        alias: &str,
        prompt: &Prompt,
    ) -> Result<Answer, AskError> {
        let Some(route) = resolve(tenant, alias).await? else {
            let answer = self.call_mock(prompt);
            tenant.record(answered(alias, &answer)).await;
            return Ok(answer);
        };
        let started = std::time::Instant::now();
        match self.call(&route, prompt, &TenantCredentials(tenant)).await {
            Ok(answer) => {
                tenant.record(answered(alias, &answer)).await;
                Ok(answer)
            }
            Err(error) => {
                let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                warn!(route = alias, %error, "AI call failed");
                tenant
                    .record(unanswered(tenant, alias, &route, &error, ms).await)
                    .await;
                Err(error.into())
            }
        }
    }
}

/// Whether an answer came from the built-in mock.
pub fn is_mock(answer: &Answer) -> bool {
    answer.provider == MOCK
}
