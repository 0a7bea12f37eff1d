//! What every provider speaks: a chat request in, an answer with token counts out, and errors
//! classed by what the gateway should do next (retry, fail over, stop); answers whole or
//! streamed.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::stream::{EventStream, answer_events};

/// Who says a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What the caller asks of a route: a chat request without the model, which each target of
/// the route supplies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Ask for a JSON object (OpenAI's `response_format`; an instruction for Anthropic).
    #[serde(default)]
    pub json: bool,
}

impl Prompt {
    /// A prompt of one user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            messages: vec![Message::user(content)],
            ..Self::default()
        }
    }

    /// The request for one target.
    pub fn for_model(&self, model: &str) -> ChatRequest {
        ChatRequest {
            messages: self.messages.clone(),
            model: model.to_owned(),
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            json: self.json,
        }
    }
}

/// One call to one provider and model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub model: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub json: bool,
}

/// A provider's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatAnswer {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// `stop`, `length`, `end_turn`, ... as the provider says it.
    pub finish_reason: Option<String>,
}

/// Why a provider call failed, classed by what to do next. Messages never hold API keys:
/// providers scrub their key from any text a server sends back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// 429: retry (after `retry_after` when the server says) or fail over.
    #[error("rate limited (429){}", .retry_after.map(|d| format!(", retry after {} ms", d.as_millis())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx: retry or fail over.
    #[error("server error ({0})")]
    Server(u16),
    /// No answer in time (or 408): fail over.
    #[error("timed out")]
    Timeout,
    /// The server could not be reached: retry or fail over.
    #[error("connection failed")]
    Connect,
    /// Any other 4xx (bad request, bad key, unknown model): the same request fails everywhere
    /// or needs fixing, so neither retried nor failed over.
    #[error("rejected ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// A 2xx whose body is not the expected shape: fail over without retrying.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl ProviderError {
    /// Whether another attempt (here or at the next target) may succeed.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server(_) | Self::Timeout | Self::Connect
        )
    }
}

/// A chat provider (one credential).
#[async_trait]
pub trait Provider: Send + Sync {
    /// The credential type it speaks for (`openai`, `anthropic`, ..., or `mock`).
    fn kind(&self) -> &'static str;

    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError>;

    /// The answer as a stream. Returns once the stream is open (for HTTP providers: a 2xx
    /// status and its headers); errors before that are classed as [`Provider::chat`]'s, and
    /// later ones are the stream's last item. By default: [`Provider::chat`]'s answer as one
    /// `Text` (when not empty), `Finish` and `Usage`.
    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        self.chat(req).await.map(answer_events)
    }
}
