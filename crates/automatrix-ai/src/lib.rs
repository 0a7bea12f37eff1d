//! The AI gateway: providers (OpenAI, Azure OpenAI, Anthropic, OpenAI-compatible servers and a
//! built-in mock) behind one [`Provider`] trait, and a [`Gateway`] that calls a route's targets
//! with retries, fallback, weighted drawing and circuit breakers, and prices each answer, whole
//! or streamed; [`Gateway::ask`] does so for an organization ([`Tenant`]: budget, routes,
//! accounting), and the AI nodes ([`register_nodes`]) ask through it. See `docs/ai.md`.

mod anthropic;
mod ask;
mod azure;
mod breaker;
mod gateway;
mod http;
mod mock;
mod nodes;
mod openai;
mod provider;
mod sse;
mod stream;

use automatrix_core::services::Credential;

pub use anthropic::Anthropic;
pub use ask::{
    AskError, DEFAULT_ROUTE, Tenant, TenantCredentials, answered, answered_stream, is_mock,
    resolve, unanswered,
};
pub use azure::azure_openai;
pub use breaker::{Admission, Breakers};
pub use gateway::{
    AiError, Answer, Attempt, CredentialSource, CredentialUnavailable, Gateway, GatewayConfig,
    Outcome, draw, http_client,
};
pub use mock::{MOCK, MockProvider, mock_tokens};
pub use nodes::{AiClassify, AiExtract, AiGenerate, register_nodes};
pub use openai::OpenAiChat;
pub use provider::{ChatAnswer, ChatRequest, Message, Prompt, Provider, ProviderError, Role};
pub use stream::{EventStream, StreamEvent, StreamingAnswer, openai_finish_reason};

/// The provider a credential stands for. Errors name the credential type and the missing
/// field, never a value.
pub fn provider_for(
    credential: &Credential,
    client: &reqwest::Client,
) -> Result<Box<dyn Provider>, AiError> {
    let required = |field: &str| {
        credential.optional_text(field).ok_or_else(|| {
            AiError::Credential(format!("the {} credential has no {field}", credential.kind))
        })
    };
    let client = client.clone();
    Ok(match credential.kind.as_str() {
        "openai" => Box::new(OpenAiChat::openai(
            client,
            credential.optional_text("base_url"),
            required("api_key")?,
            credential.optional_text("organization"),
        )),
        "azure_openai" => Box::new(azure_openai(
            client,
            required("endpoint")?,
            required("deployment")?,
            required("api_version")?,
            required("api_key")?,
        )),
        "anthropic" => Box::new(Anthropic::new(
            client,
            credential.optional_text("base_url"),
            required("api_key")?,
        )),
        "openai_compatible" => Box::new(OpenAiChat::compatible(
            client,
            required("base_url")?,
            credential.optional_text("api_key"),
        )),
        other => {
            return Err(AiError::Credential(format!(
                "a credential of type {other} is not an AI provider"
            )));
        }
    })
}
