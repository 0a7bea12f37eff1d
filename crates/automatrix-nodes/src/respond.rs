//! `respond.webhook`: what a waiting webhook caller gets.

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Sets the answer of the webhook call that started the workflow.
#[derive(Clone, Copy, Debug, Default)]
pub struct RespondWebhook;

impl RespondWebhook {
    pub const KIND: &'static str = "respond.webhook";
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RespondConfig {
    #[serde(default = "ok")]
    status: u16,
    body: Option<Value>,
    #[serde(default)]
    headers: Map<String, Value>,
}

fn ok() -> u16 {
    200
}

const DOCS: &str = r#"Answers the call of a webhook whose trigger waits for the workflow (`respond: "on_completion"`): the caller gets `status`, `headers` and `body` instead of the workflow's output. Without this node the caller gets `200` with the output.

**Config:** `status` (default `200`), `body` (any JSON, usually an expression; a string is sent as text, anything else as JSON; default: this node's input), `headers` (names to string values).

**Output:** `{status, body, headers}`, on `main`. The caller hears it when the execution finishes (or when the trigger's `timeout_ms` is up: then `202` with the execution id).

**Example**

```json
{
  "id": "reply",
  "type": "respond.webhook",
  "config": {
    "status": 201,
    "body": {"lead_id": "{{ $json.id }}", "received": true},
    "headers": {"X-Lead-Route": "{{ $json.route }}"}
  }
}
```
"#;

#[async_trait]
impl Node for RespondWebhook {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Sets the status, headers and body a waiting webhook caller gets.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "status": {
                        "description": "The HTTP status of the answer.",
                        "type": "integer",
                        "minimum": 200,
                        "maximum": 599,
                        "default": 200,
                    },
                    "body": {
                        "description": "The answer's body: a string is sent as text, anything else as JSON. Default: the node's input.",
                    },
                    "headers": {
                        "description": "Headers of the answer.",
                        "type": "object",
                        "propertyNames": {"pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
                        "additionalProperties": {"type": "string"},
                    },
                },
                "additionalProperties": false,
            }),
            answers_webhook: true,
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Respond to Webhook", "flow")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: RespondConfig = parse_config(config)?;
        Ok(NodeOutput::main(json!({
            "status": config.status,
            "body": config.body.unwrap_or(input),
            "headers": config.headers,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    #[tokio::test]
    async fn the_answer_defaults_to_200_with_the_input() {
        let out = run(&RespondWebhook, json!({}), json!({"lead": 7}))
            .await
            .unwrap();
        assert_eq!(
            out,
            NodeOutput::main(json!({"status": 200, "body": {"lead": 7}, "headers": {}}))
        );
    }

    #[tokio::test]
    async fn status_body_and_headers_come_from_the_config() {
        let config = json!({"status": 201, "body": "thanks", "headers": {"X-Route": "bdc"}});
        let out = run(&RespondWebhook, config, json!({})).await.unwrap();
        assert_eq!(
            out.data,
            json!({"status": 201, "body": "thanks", "headers": {"X-Route": "bdc"}})
        );
    }
}
