//! `ai.generate`: text from a prompt (a reply draft, a summary, a follow-up message).

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ask, default_model, model_schema, with_account};
use crate::gateway::Gateway;
use crate::provider::{Message, Prompt};

/// Generates text with a language model.
pub struct AiGenerate {
    gateway: Arc<Gateway>,
}

impl AiGenerate {
    pub const KIND: &'static str = "ai.generate";

    pub fn new(gateway: Arc<Gateway>) -> Self {
        Self { gateway }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateConfig {
    #[serde(default = "default_model")]
    model: String,
    prompt: String,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

const DOCS: &str = r#"Asks a language model for text: a reply to a lead, a summary of a service visit, a follow-up text message. The prompt and the system message are ordinary config strings, so expressions put the lead's data in them.

**Routes, not vendors.** `model` names an AI route of the organization (`PUT /api/ai/routes/{alias}`): the providers and models to try, in order or by weight, with their prices. Changing providers is a route change, not a workflow change. The route `default` works with no setup at all: until the organization configures it, the built-in mock answers (deterministically, for free, and says so: `provider` and `model` are `mock`, the text starts with `[mock]`), so templates run offline.

**Output** `{text, provider, model, route, variant, usage: {input_tokens, output_tokens}, cost_usd, attempts}`: `provider` and `model` answered (the credential type and the target's model), `variant` is the index of the answering target in the route (which side of an A/B split answered), `cost_usd` is priced from the route, `attempts` lists every provider call (with fallbacks and retries).

**Errors.** Over the organization's monthly AI budget the step fails before any provider call, with a message that says "budget" (fatal). A route that does not exist is fatal. When every target fails with 429, 5xx, timeouts or connection errors, the step fails retryably (its `retry` policy may try again later; the attempts are in the error's data); a provider that rejects the request (400, 401, 404) fails it fatally. API keys never appear in outputs, errors or logs.

Every call, answered or not, is accounted for (`GET /api/ai/usage`) with the execution and step.

**Example:** a first reply to a web lead.

```json
{"id": "draft", "type": "ai.generate", "config": {"model": "default", "system": "You are the BDC assistant of Valley Honda. Be brief and friendly; never promise a price.", "prompt": "Write a two-sentence reply to {{ $json.customer.name }} who asked: {{ $json.comments }}", "temperature": 0.4, "max_tokens": 200}}
```

Output (mock): `{"text": "[mock] Write a two-sentence reply to Dana who asked: Is the 2021 Civic still available?", "provider": "mock", "model": "mock", "route": "default", "variant": 0, "usage": {"input_tokens": 42, "output_tokens": 23}, "cost_usd": 0.0, "attempts": [{"target_index": 0, "model": "mock", "outcome": "answered"}]}`.
"#;

#[async_trait]
impl Node for AiGenerate {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Generates text with a language model through an AI route: reply drafts, summaries, follow-ups.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "model": model_schema(),
                    "prompt": {"description": "What to ask (the user message); expressions put the run's data in it.", "type": "string", "minLength": 1},
                    "system": {"description": "Instructions that frame every answer (the system message).", "type": "string"},
                    "temperature": {"description": "Sampling temperature, 0 (focused) to 2 (varied); the provider's default when not given.", "type": "number", "minimum": 0, "maximum": 2},
                    "max_tokens": {"description": "The longest answer, in tokens.", "type": "integer", "minimum": 1, "maximum": 100_000},
                },
                "required": ["prompt"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            side_effects: true,
            ..NodeSpec::new(Self::KIND, "AI Generate", "ai")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let c: GenerateConfig = parse_config(config)?;
        let mut messages = Vec::new();
        if let Some(system) = c.system.filter(|s| !s.trim().is_empty()) {
            messages.push(Message::system(system));
        }
        messages.push(Message::user(c.prompt));
        let prompt = Prompt {
            messages,
            temperature: c.temperature,
            max_tokens: c.max_tokens,
            json: false,
        };
        let answer = ask(&self.gateway, ctx, Self::KIND, &c.model, &prompt).await?;
        let text = answer.text.clone();
        Ok(NodeOutput::main(with_account(
            json!({ "text": text }),
            &c.model,
            &[answer],
        )))
    }
}
