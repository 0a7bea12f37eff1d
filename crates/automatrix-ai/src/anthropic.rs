//! Anthropic's Messages API: `POST {base_url}/v1/messages` with `x-api-key` and
//! `anthropic-version`; the system prompt is a top-level field and `max_tokens` is required.

use async_trait::async_trait;
use reqwest::Client;
use serde_json::{Value, json};

use crate::http;
use crate::provider::{ChatAnswer, ChatRequest, Provider, ProviderError, Role};

/// Anthropic's public endpoint, when a credential names none.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version every request names.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the request sets none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// Anthropic has no JSON mode: a JSON request adds this to the system prompt.
pub const JSON_INSTRUCTION: &str =
    "Answer with a single JSON object and nothing else: no prose, no code fences.";

/// The Messages API of one key. Holds the key, so it has no `Debug`.
pub struct Anthropic {
    client: Client,
    url: String,
    api_key: String,
}

impl Anthropic {
    /// `base_url` defaults to [`DEFAULT_BASE_URL`].
    pub fn new(client: Client, base_url: Option<&str>, api_key: &str) -> Self {
        Self {
            client,
            url: http::join(base_url.unwrap_or(DEFAULT_BASE_URL), "/v1/messages"),
            api_key: api_key.to_owned(),
        }
    }
}

/// The request body.
pub(crate) fn body(req: &ChatRequest) -> Value {
    let mut system: Vec<&str> = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    if req.json {
        system.push(JSON_INSTRUCTION);
    }
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// The answer in a response body: the text blocks joined.
pub(crate) fn parse(body: &Value) -> Result<ChatAnswer, ProviderError> {
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed("no content".into()))?;
    let text = blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<String>();
    let usage = body.get("usage");
    Ok(ChatAnswer {
        text,
        input_tokens: http::count(usage, "input_tokens"),
        output_tokens: http::count(usage, "output_tokens"),
        finish_reason: body
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[async_trait]
impl Provider for Anthropic {
    fn kind(&self) -> &'static str {
        "anthropic"
    }

    #[tracing::instrument(skip_all, fields(provider = "anthropic", model = %req.model))]
    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError> {
        let request = self
            .client
            .post(&self.url)
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(&body(req));
        parse(&http::exchange(request, Some(&self.api_key)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Prompt};

    #[test]
    fn system_messages_move_to_the_top_and_max_tokens_is_always_set() {
        let p = Prompt {
            messages: vec![
                Message::system("You are a BDC assistant."),
                Message::user("Draft a reply."),
            ],
            temperature: Some(0.0),
            max_tokens: None,
            json: true,
        };
        assert_eq!(
            body(&p.for_model("claude-3-5-haiku-latest")),
            json!({"model": "claude-3-5-haiku-latest", "max_tokens": 1024, "temperature": 0.0,
                "system": format!("You are a BDC assistant.\n\n{JSON_INSTRUCTION}"),
                "messages": [{"role": "user", "content": "Draft a reply."}]})
        );
        let plain = body(&Prompt::user("hi").for_model("m"));
        assert!(plain.get("system").is_none());
    }

    #[test]
    fn text_blocks_and_usage_are_read() {
        let a = parse(&json!({"type": "message", "role": "assistant", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": "Hel"}, {"type": "tool_use", "id": "t"}, {"type": "text", "text": "lo"}],
            "usage": {"input_tokens": 20, "output_tokens": 4}}))
        .unwrap();
        assert_eq!(
            (a.text.as_str(), a.input_tokens, a.output_tokens),
            ("Hello", 20, 4)
        );
        assert_eq!(a.finish_reason.as_deref(), Some("end_turn"));
        assert!(parse(&json!({"choices": []})).is_err());
    }
}
