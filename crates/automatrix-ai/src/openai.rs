//! OpenAI's chat completions (`POST {base_url}/chat/completions`), which Azure OpenAI and
//! OpenAI-compatible servers (Ollama, vLLM, LM Studio) speak as well; whole or streamed.

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};

use crate::http;
use crate::provider::{ChatAnswer, ChatRequest, Provider, ProviderError};
use crate::sse::{self, Decoder, Frame};
use crate::stream::{EventStream, StreamEvent, openai_finish_reason};

/// OpenAI's public endpoint, when a credential names none.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// How a request proves who sends it.
pub(crate) enum Auth {
    /// `Authorization: Bearer …` (OpenAI, compatible servers).
    Bearer(String),
    /// `api-key: …` (Azure).
    ApiKey(String),
    /// Nothing (a local compatible server).
    None,
}

impl Auth {
    fn secret(&self) -> Option<&str> {
        match self {
            Self::Bearer(k) | Self::ApiKey(k) => Some(k),
            Self::None => None,
        }
    }
}

/// A chat-completions endpoint. Holds the key, so it has no `Debug`.
pub struct OpenAiChat {
    pub(crate) kind: &'static str,
    pub(crate) client: Client,
    /// The full URL of the endpoint, query included.
    pub(crate) url: String,
    pub(crate) auth: Auth,
    pub(crate) organization: Option<String>,
}

impl OpenAiChat {
    /// OpenAI itself: `base_url` defaults to [`DEFAULT_BASE_URL`].
    pub fn openai(
        client: Client,
        base_url: Option<&str>,
        api_key: &str,
        organization: Option<&str>,
    ) -> Self {
        Self {
            kind: "openai",
            client,
            url: http::join(base_url.unwrap_or(DEFAULT_BASE_URL), "/chat/completions"),
            auth: Auth::Bearer(api_key.to_owned()),
            organization: organization.map(str::to_owned),
        }
    }

    /// A server speaking OpenAI's API (Ollama, vLLM, LM Studio); the key is optional.
    pub fn compatible(client: Client, base_url: &str, api_key: Option<&str>) -> Self {
        Self {
            kind: "openai_compatible",
            client,
            url: http::join(base_url, "/chat/completions"),
            auth: api_key.map_or(Auth::None, |k| Auth::Bearer(k.to_owned())),
            organization: None,
        }
    }
}

/// The request body.
pub(crate) fn body(req: &ChatRequest) -> Value {
    let mut body = json!({
        "model": req.model,
        "messages": req.messages,
        "stream": false,
    });
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(m) = req.max_tokens {
        body["max_tokens"] = json!(m);
    }
    if req.json {
        body["response_format"] = json!({"type": "json_object"});
    }
    body
}

/// The answer in a response body.
pub(crate) fn parse(body: &Value) -> Result<ChatAnswer, ProviderError> {
    let choice = body
        .pointer("/choices/0")
        .ok_or_else(|| ProviderError::Malformed("no choices".into()))?;
    let text = match choice.pointer("/message/content") {
        Some(Value::String(s)) => s.clone(),
        // A refusal or a tool call carries no text.
        Some(Value::Null) => String::new(),
        _ => return Err(ProviderError::Malformed("no message content".into())),
    };
    let usage = body.get("usage");
    Ok(ChatAnswer {
        text,
        input_tokens: http::count(usage, "prompt_tokens"),
        output_tokens: http::count(usage, "completion_tokens"),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Reads the chunks of a stream: `choices[0].delta.content` as text,
/// `choices[0].finish_reason`, and `usage` when it is an object (the last chunk, with
/// `stream_options.include_usage`; some servers send it on every chunk), sent once at `[DONE]`,
/// which ends the answer. An `error` object fails it.
pub(crate) struct Chunks {
    /// Kept out of error messages.
    secret: Option<String>,
    /// The last usage seen.
    usage: Option<StreamEvent>,
}

impl Decoder for Chunks {
    fn decode(&mut self, frame: &Frame, out: &mut Vec<StreamEvent>) -> Result<bool, ProviderError> {
        if frame.data == "[DONE]" {
            out.extend(self.usage.take());
            return Ok(true);
        }
        let chunk: Value = serde_json::from_str(&frame.data)
            .map_err(|e| ProviderError::Malformed(format!("a chunk is not JSON ({e})")))?;
        if chunk.get("error").is_some_and(|e| !e.is_null()) {
            return Err(http::stream_error(&chunk, self.secret.as_deref()));
        }
        let choice = chunk.pointer("/choices/0");
        let field = |pointer| {
            choice
                .and_then(|c| c.pointer(pointer))
                .and_then(Value::as_str)
        };
        if let Some(text) = field("/delta/content").filter(|t| !t.is_empty()) {
            out.push(StreamEvent::Text(text.to_owned()));
        }
        if let Some(reason) = field("/finish_reason") {
            out.push(StreamEvent::Finish(openai_finish_reason(reason)));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(StreamEvent::Usage {
                input_tokens: http::count(Some(usage), "prompt_tokens"),
                output_tokens: http::count(Some(usage), "completion_tokens"),
            });
        }
        Ok(false)
    }
}

impl OpenAiChat {
    /// A POST of `body` with the endpoint's authentication.
    fn post(&self, body: &Value) -> RequestBuilder {
        let mut request = self.client.post(&self.url).json(body);
        request = match &self.auth {
            Auth::Bearer(k) => request.bearer_auth(k),
            Auth::ApiKey(k) => request.header("api-key", k),
            Auth::None => request,
        };
        if let Some(org) = &self.organization {
            request = request.header("OpenAI-Organization", org);
        }
        request
    }
}

#[async_trait]
impl Provider for OpenAiChat {
    fn kind(&self) -> &'static str {
        self.kind
    }

    #[tracing::instrument(skip_all, fields(provider = self.kind, model = %req.model))]
    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError> {
        let request = self.post(&body(req));
        parse(&http::exchange(request, self.auth.secret()).await?)
    }

    /// The body asks for `stream: true` and the usage chunk (`stream_options.include_usage`).
    #[tracing::instrument(skip_all, fields(provider = self.kind, model = %req.model))]
    async fn chat_stream(&self, req: &ChatRequest) -> Result<EventStream, ProviderError> {
        let mut body = body(req);
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let secret = self.auth.secret();
        let chunks = Chunks {
            secret: secret.map(str::to_owned),
            usage: None,
        };
        sse::open(self.post(&body), secret, chunks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Prompt};

    #[test]
    fn the_body_carries_model_messages_options_and_json_mode() {
        let mut p = Prompt {
            messages: vec![Message::system("be brief"), Message::user("hi")],
            temperature: Some(0.2),
            max_tokens: Some(50),
            json: true,
        };
        assert_eq!(
            body(&p.for_model("gpt-4o-mini")),
            json!({"model": "gpt-4o-mini", "stream": false, "temperature": 0.2, "max_tokens": 50,
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "response_format": {"type": "json_object"}})
        );
        p.json = false;
        p.temperature = None;
        p.max_tokens = None;
        let b = body(&p.for_model("m"));
        assert!(b.get("response_format").is_none() && b.get("temperature").is_none());
    }

    #[test]
    fn usage_and_text_are_read_from_the_answer() {
        let a = parse(
            &json!({"choices": [{"message": {"role": "assistant", "content": "Hello"},
            "finish_reason": "stop"}], "usage": {"prompt_tokens": 12, "completion_tokens": 3}}),
        )
        .unwrap();
        assert_eq!(
            (a.text.as_str(), a.input_tokens, a.output_tokens),
            ("Hello", 12, 3)
        );
        assert_eq!(a.finish_reason.as_deref(), Some("stop"));
        assert!(matches!(
            parse(&json!({"id": "x"})),
            Err(ProviderError::Malformed(_))
        ));
    }

    /// The events of a stream whose data lines are `data`, then `[DONE]`.
    async fn stream(data: &[&str]) -> Vec<Result<StreamEvent, ProviderError>> {
        let body: String = data
            .iter()
            .chain(&["[DONE]"])
            .map(|d| format!("data: {d}\n\n"))
            .collect();
        let chunks = Chunks {
            secret: Some("sk-1".into()),
            usage: None,
        };
        crate::sse::decode_chunks(&[&body], chunks).await
    }

    #[tokio::test]
    async fn stream_chunks_give_text_finish_and_one_usage() {
        // The second chunk has usage as some servers send it on every chunk: the last counts.
        let events = stream(&[
            r#"{"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}], "usage": null}"#,
            r#"{"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}], "usage": {"prompt_tokens": 9, "completion_tokens": 1}}"#,
            r#"{"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "length"}]}"#,
            r#"{"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 2}}"#,
        ])
        .await;
        assert_eq!(
            events,
            crate::stream::answered(&["Hel", "lo"], "length", (9, 2))
        );
    }

    #[tokio::test]
    async fn a_chunk_that_is_not_json_or_an_error_ends_the_stream_with_an_err() {
        let events = stream(&[r#"{"choices": [{"delta": {"content": "a"}}]}"#, "{not json"]).await;
        assert_eq!(events[0], Ok(StreamEvent::Text("a".into())));
        assert!(
            matches!(&events[1..], [Err(ProviderError::Malformed(m))] if m.starts_with("a chunk is not JSON")),
            "{events:?}"
        );
        let events =
            stream(&[r#"{"error": {"message": "bad key sk-1", "type": "invalid_request_error"}}"#])
                .await;
        assert_eq!(
            events,
            [Err(ProviderError::Rejected {
                status: 400,
                message: "bad key [redacted]".into()
            })]
        );
        let events = stream(&[r#"{"error": {"message": "boom", "type": "server_error"}}"#]).await;
        assert_eq!(events, [Err(ProviderError::Server(500))]);
    }
}
