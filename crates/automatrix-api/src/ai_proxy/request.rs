//! The OpenAI chat-completions request the proxy takes, and what it becomes: a route alias and
//! a gateway [`Prompt`]. Fields the gateway cannot honour are refused by name rather than
//! silently dropped; harmless ones (`user`, `seed`, `top_p`, ...) are ignored.

use automatrix_ai::{Message, Prompt, Role};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;

/// `POST /api/ai/v1/chat/completions`: OpenAI's request body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatCompletionRequest {
    /// The AI route alias (`default`, `lead-qualifier`).
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// OpenAI's newer name for `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// Answer with server-sent events (`chat.completion.chunk`s, then `data: [DONE]`).
    #[serde(default)]
    pub stream: bool,
    /// `{"include_usage": true}`: a last chunk with `usage` before `[DONE]`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub stream_options: Option<Value>,
    /// `{"type": "json_object"}` asks for JSON; `{"type": "text"}` is the default.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub response_format: Option<Value>,
    /// Only 1.
    #[serde(default)]
    pub n: Option<u32>,
    /// Not supported (refused).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub tools: Option<Value>,
    /// Not supported (refused).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub functions: Option<Value>,
}

/// One message: `content` is a string or an array of `{"type": "text", "text"}` parts.
#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    #[serde(default)]
    pub content: Value,
}

impl ChatCompletionRequest {
    /// Whether the stream should end with a usage chunk.
    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o["include_usage"] == true)
    }

    /// The prompt to send, or a 422 naming the first field the gateway cannot honour.
    pub fn prompt(&self) -> Result<Prompt, ApiError> {
        if self.tools.as_ref().is_some_and(|t| !t.is_null())
            || self.functions.as_ref().is_some_and(|f| !f.is_null())
        {
            let field = if self.tools.is_some() {
                "tools"
            } else {
                "functions"
            };
            return Err(ApiError::invalid(
                field,
                "tool and function calls are not supported by the AutoMatrix AI proxy",
            ));
        }
        if self.n.is_some_and(|n| n != 1) {
            return Err(ApiError::invalid(
                "n",
                "only one choice (n = 1) is supported",
            ));
        }
        if self
            .temperature
            .is_some_and(|t| !(t.is_finite() && (0.0..=2.0).contains(&t)))
        {
            return Err(ApiError::invalid("temperature", "must be from 0 to 2"));
        }
        let json = match self.response_format.as_ref().map(|f| &f["type"]) {
            None | Some(Value::Null) => false,
            Some(t) if t == "text" => false,
            Some(t) if t == "json_object" => true,
            Some(_) => {
                return Err(ApiError::invalid(
                    "response_format.type",
                    "must be `text` or `json_object`",
                ));
            }
        };
        if self.messages.is_empty() {
            return Err(ApiError::invalid(
                "messages",
                "must have at least one message",
            ));
        }
        let messages = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| m.to_message(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Prompt {
            messages,
            temperature: self.temperature,
            max_tokens: self.max_completion_tokens.or(self.max_tokens),
            json,
        })
    }
}

impl ChatMessage {
    fn to_message(&self, i: usize) -> Result<Message, ApiError> {
        let role = match self.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(ApiError::invalid(
                    &format!("messages[{i}].role"),
                    format!("`{other}` is not supported; use system, developer, user or assistant"),
                ));
            }
        };
        let content = match &self.content {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            Value::Array(parts) => {
                let mut text = String::new();
                for (j, part) in parts.iter().enumerate() {
                    match (part["type"].as_str(), part["text"].as_str()) {
                        (Some("text"), Some(t)) => text.push_str(t),
                        _ => {
                            return Err(ApiError::invalid(
                                &format!("messages[{i}].content[{j}]"),
                                "only text parts (`{\"type\": \"text\", \"text\": …}`) are supported",
                            ));
                        }
                    }
                }
                text
            }
            _ => {
                return Err(ApiError::invalid(
                    &format!("messages[{i}].content"),
                    "must be a string or an array of text parts",
                ));
            }
        };
        Ok(Message { role, content })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(body: Value) -> ChatCompletionRequest {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn messages_roles_parts_and_options_become_a_prompt() {
        let p = request(json!({"model": "default", "temperature": 0.3, "max_completion_tokens": 50,
            "response_format": {"type": "json_object"}, "user": "ignored", "messages": [
            {"role": "developer", "content": "Be brief"},
            {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]}
        ]}))
        .prompt()
        .unwrap();
        assert_eq!(
            p.messages,
            [Message::system("Be brief"), Message::user("Hi there")]
        );
        assert_eq!(
            (p.temperature, p.max_tokens, p.json),
            (Some(0.3), Some(50), true)
        );
    }

    fn refused_at(body: Value) -> String {
        match request(body).prompt() {
            Err(ApiError::Validation { details, .. }) => details[0].path.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn what_the_gateway_cannot_honour_is_refused_by_name() {
        let m = json!([{"role": "user", "content": "hi"}]);
        assert_eq!(
            refused_at(json!({"model": "d", "messages": m, "tools": []})),
            "tools"
        );
        assert_eq!(
            refused_at(json!({"model": "d", "messages": m, "n": 2})),
            "n"
        );
        assert_eq!(
            refused_at(json!({"model": "d", "messages": m, "temperature": 3})),
            "temperature"
        );
        assert_eq!(
            refused_at(json!({"model": "d", "messages": []})),
            "messages"
        );
        assert_eq!(
            refused_at(json!({"model": "d", "messages": [{"role": "tool", "content": "x"}]})),
            "messages[0].role"
        );
        assert_eq!(
            refused_at(
                json!({"model": "d", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})
            ),
            "messages[0].content[0]"
        );
    }
}
