//! Anthropic's Messages API: `POST {base_url}/v1/messages` with `x-api-key` and
//! `anthropic-version`; the system prompt is a top-level field and `max_tokens` is required.
//! Whole or streamed.

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

use crate::http;
use crate::provider::{ChatAnswer, ChatRequest, Provider, ProviderError, Role};
use crate::sse::{self, Decoder, Frame};
use crate::stream::{EventStream, StreamEvent, openai_finish_reason};

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

/// Reads the events of a stream: `content_block_delta` text deltas as text, `message_delta`'s
/// stop reason, and the tokens of `message_start` (input) and `message_delta` (output, which
/// counts the whole answer) as one `Usage` at `message_stop`, which ends the answer. An
/// `error` event fails it; `ping` and other events are passed over.
pub(crate) struct Events {
    /// Kept out of error messages.
    secret: String,
    input_tokens: u64,
    output_tokens: u64,
}

impl Decoder for Events {
    fn decode(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        let event: Value = serde_json::from_str(&frame.data)
            .map_err(|e| ProviderError::Malformed(format!("an event is not JSON ({e})")))?;
        let kind = event.get("type").and_then(Value::as_str);
        let text = |pointer| event.pointer(pointer).and_then(Value::as_str);
        let tokens = |pointer| event.pointer(pointer).and_then(Value::as_u64);
        match kind.or(frame.event.as_deref()).unwrap_or_default() {
            "message_start" => {
                self.input_tokens = tokens("/message/usage/input_tokens").unwrap_or(0);
                self.output_tokens = tokens("/message/usage/output_tokens").unwrap_or(0);
            }
            "content_block_delta" if text("/delta/type") == Some("text_delta") => {
                if let Some(t) = text("/delta/text").filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Text(t.to_owned()));
                }
            }
            "message_delta" => {
                if let Some(reason) = text("/delta/stop_reason") {
                    out.push(StreamEvent::Finish(openai_finish_reason(reason)));
                }
                self.input_tokens = tokens("/usage/input_tokens").unwrap_or(self.input_tokens);
                self.output_tokens = tokens("/usage/output_tokens").unwrap_or(self.output_tokens);
            }
            "message_stop" => {
                out.push(StreamEvent::Usage {
                    input_tokens: self.input_tokens,
                    output_tokens: self.output_tokens,
                });
                return Ok(true);
            }
            "error" => return Err(http::stream_error(&event, Some(&self.secret))),
            _ => {}
        }
        Ok(false)
    }
}

impl Anthropic {
    /// A POST of `body` with the key and the API version.
    fn post(&self, body: &Value) -> RequestBuilder {
        self.client
            .post(&self.url)
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(body)
    }
}

#[async_trait]
impl Provider for Anthropic {
    fn kind(&self) -> &'static str {
        "anthropic"
    }

    #[tracing::instrument(skip_all, fields(provider = "anthropic", model = %req.model))]
    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError> {
        parse(&http::exchange(self.post(&body(req)), Some(&self.api_key)).await?)
    }

    /// The body adds `stream: true`.
    #[tracing::instrument(skip_all, fields(provider = "anthropic", model = %req.model))]
    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let mut body = body(req);
        body["stream"] = json!(true);
        let events = Events {
            secret: self.api_key.clone(),
            input_tokens: 0,
            output_tokens: 0,
        };
        sse::open(self.post(&body), Some(&self.api_key), events).await
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

    fn events() -> Events {
        Events {
            secret: "sk-ant-1".into(),
            input_tokens: 0,
            output_tokens: 0,
        }
    }

    #[tokio::test]
    async fn stream_events_give_text_finish_and_one_usage_at_the_end() {
        let body = concat!(
            "event: message_start\n",
            r#"data: {"type": "message_start", "message": {"usage": {"input_tokens": 25, "output_tokens": 1}}}"#,
            "\n\nevent: content_block_start\n",
            r#"data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}"#,
            "\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\n",
            r#"data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}"#,
            "\n\nevent: content_block_delta\n",
            r#"data: {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{"}}"#,
            "\n\nevent: content_block_delta\n",
            r#"data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}"#,
            "\n\nevent: message_delta\n",
            r#"data: {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 15}}"#,
            "\n\nevent: message_stop\ndata: {\"type\": \"message_stop\"}\n\n",
        );
        assert_eq!(
            crate::sse::decode_chunks(&[body], events()).await,
            crate::stream::answered(&["Hel", "lo"], "length", (25, 15))
        );
    }

    #[tokio::test]
    async fn an_error_event_ends_the_stream_with_its_class() {
        let overloaded = concat!(
            "event: error\n",
            r#"data: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
            "\n\n"
        );
        assert_eq!(
            crate::sse::decode_chunks(&[overloaded], events()).await,
            [Err(ProviderError::Server(529))]
        );
        let rejected = concat!(
            "event: error\n",
            r#"data: {"type": "error", "error": {"type": "invalid_request_error", "message": "key sk-ant-1 is bad"}}"#,
            "\n\n"
        );
        assert_eq!(
            crate::sse::decode_chunks(&[rejected], events()).await,
            [Err(ProviderError::Rejected {
                status: 400,
                message: "key [redacted] is bad".into()
            })]
        );
    }
}
