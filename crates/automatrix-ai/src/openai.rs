//! OpenAI's chat completions (`POST {base_url}/chat/completions`), which Azure OpenAI and
//! OpenAI-compatible servers (Ollama, vLLM, LM Studio) speak as well.

use async_trait::async_trait;
use reqwest::Client;
use serde_json::{Value, json};

use crate::http;
use crate::provider::{ChatAnswer, ChatRequest, Provider, ProviderError};

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

#[async_trait]
impl Provider for OpenAiChat {
    fn kind(&self) -> &'static str {
        self.kind
    }

    #[tracing::instrument(skip_all, fields(provider = self.kind, model = %req.model))]
    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError> {
        let mut request = self.client.post(&self.url).json(&body(req));
        request = match &self.auth {
            Auth::Bearer(k) => request.bearer_auth(k),
            Auth::ApiKey(k) => request.header("api-key", k),
            Auth::None => request,
        };
        if let Some(org) = &self.organization {
            request = request.header("OpenAI-Organization", org);
        }
        parse(&http::exchange(request, self.auth.secret()).await?)
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
}
