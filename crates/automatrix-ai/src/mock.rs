//! The built-in `mock` provider: no network, no key, the same answer for the same prompt.
//! It backs the route `default` when an organization has configured none, so templates run
//! offline; every answer says it comes from the mock.

use async_trait::async_trait;
use serde_json::json;

use crate::provider::{ChatAnswer, ChatRequest, Provider, ProviderError, Role};

/// The provider name and model of mock answers.
pub const MOCK: &str = "mock";
/// How much of the prompt a mock answer echoes, in characters.
const ECHO: usize = 120;

/// The deterministic stand-in provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct MockProvider;

/// Tokens by the mock's rule: one per 4 characters, rounded up.
pub fn mock_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

impl MockProvider {
    /// The answer to `req`, computed from its messages only.
    pub fn answer(req: &ChatRequest) -> ChatAnswer {
        let last_user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map_or("", |m| m.content.as_str());
        let echo: String = last_user.split_whitespace().collect::<Vec<_>>().join(" ");
        let echo: String = echo.chars().take(ECHO).collect();
        let input_tokens = req.messages.iter().map(|m| mock_tokens(&m.content)).sum();
        let text = if req.json {
            json!({
                "mock": true,
                "provider": MOCK,
                "model": req.model,
                "prompt": echo,
                "prompt_chars": last_user.chars().count(),
            })
            .to_string()
        } else {
            format!("[mock] {echo}")
        };
        ChatAnswer {
            output_tokens: mock_tokens(&text),
            text,
            input_tokens,
            finish_reason: Some("stop".into()),
        }
    }
}

#[async_trait]
impl Provider for MockProvider {
    fn kind(&self) -> &'static str {
        MOCK
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, ProviderError> {
        Ok(Self::answer(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Prompt};

    #[test]
    fn the_same_prompt_gets_the_same_labelled_answer() {
        let p = Prompt {
            messages: vec![
                Message::system("be brief"),
                Message::user("Is the  2021 Civic\nstill available?"),
            ],
            ..Prompt::default()
        };
        let a = MockProvider::answer(&p.for_model("mock"));
        assert_eq!(a, MockProvider::answer(&p.for_model("mock")));
        assert_eq!(a.text, "[mock] Is the 2021 Civic still available?");
        assert_eq!(a.input_tokens, 2 + 9);
        assert_eq!(a.output_tokens, 11);
    }

    #[test]
    fn a_json_request_gets_a_json_object() {
        let mut p = Prompt::user("extract the trade-in");
        p.json = true;
        let a = MockProvider::answer(&p.for_model("mock"));
        let v: serde_json::Value = serde_json::from_str(&a.text).unwrap();
        assert_eq!(v["mock"], true);
        assert_eq!(v["provider"], "mock");
        assert_eq!(v["prompt"], "extract the trade-in");
    }
}
