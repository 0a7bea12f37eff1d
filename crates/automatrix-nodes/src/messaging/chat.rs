//! `chat.post`: a message to a Slack or Microsoft Teams channel through its incoming webhook.

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::http::Outbound;
use crate::http::outbound::preview;

/// Posts to a chat channel's incoming webhook.
#[derive(Debug)]
pub struct ChatPost {
    outbound: Arc<Outbound>,
}

impl ChatPost {
    pub const KIND: &'static str = "chat.post";
    const TIMEOUT_MS: u64 = 15_000;

    pub fn new(outbound: Arc<Outbound>) -> Self {
        Self { outbound }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Format {
    #[default]
    Slack,
    Teams,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatConfig {
    credential_id: String,
    #[serde(default)]
    format: Format,
    text: String,
    #[serde(default)]
    title: Option<String>,
    /// Slack Block Kit blocks, or a Teams Adaptive Card body.
    #[serde(default)]
    blocks: Option<Vec<Value>>,
}

const DOCS: &str = r#"Posts a message to a team's channel: a hot lead for the sales floor, a failed DMS sync for the office.

**Where:** a `chat_webhook` credential holds the channel's incoming-webhook URL (the URL is the secret, so it stays out of the definition). `format` says what the URL expects:
- `slack` (the default): `{text, blocks}`; `title` becomes a bold first line. `blocks` are Block Kit blocks; `text` is still sent, as the notification text.
- `teams`: a message with an Adaptive Card: `title` as a large heading, `text` below, then `blocks` as more card elements. Works with Teams' Workflows webhooks and the older Office 365 connectors.

**Output:** `{status, response}`: the webhook's HTTP status and its answer (Slack answers `ok`).

**Errors:** a refused message (4xx: a revoked webhook, an invalid payload) is fatal, with the service's answer in the error; 429 and 5xx are retryable. A retry after a timeout can post twice. The URL goes through the same private-address guard as `http.request`.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) the node reads the credential, checks the URL and builds the payload, then completes on `main` without posting: `{"dry_run": true, "would_send": {method, url, query, headers, body}}` (see `http.request`'s dry run), where `body` is the exact JSON payload and `url` shows only the webhook's host, its secret path `[redacted]` (`https://hooks.slack.com[redacted]`).

**Example**

```json
{"id": "notify", "type": "chat.post", "config": {"credential_id": "0193e0c4-5b2a-7c1e-9d40-2f6a8b1c3d4e", "title": "New lead: {{ $json.customer.full_name }}", "text": "Wants the {{ $json.vehicles[0].year }} {{ $json.vehicles[0].model }}. Call {{ $json.customer.phones[0].e164 }} within 5 minutes."}}
```
"#;

fn slack_payload(config: &ChatConfig) -> Value {
    let text = match &config.title {
        Some(title) => format!("*{title}*\n{}", config.text),
        None => config.text.clone(),
    };
    let mut payload = Map::new();
    payload.insert("text".into(), Value::String(text));
    if let Some(blocks) = &config.blocks {
        payload.insert("blocks".into(), Value::Array(blocks.clone()));
    }
    Value::Object(payload)
}

fn teams_payload(config: &ChatConfig) -> Value {
    let mut body = Vec::new();
    if let Some(title) = &config.title {
        body.push(json!({"type": "TextBlock", "text": title, "size": "Large", "weight": "Bolder", "wrap": true}));
    }
    body.push(json!({"type": "TextBlock", "text": config.text, "wrap": true}));
    body.extend(config.blocks.iter().flatten().cloned());
    json!({
        "type": "message",
        "summary": config.title.as_deref().unwrap_or(&config.text),
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

#[async_trait]
impl Node for ChatPost {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Posts a message to a Slack or Microsoft Teams channel through its incoming webhook.",
            side_effects: true,
            config_schema: json!({
                "type": "object",
                "properties": {
                    "credential_id": {"type": "string", "description": "A `chat_webhook` credential: the channel's incoming-webhook URL."},
                    "format": {"enum": ["slack", "teams"], "default": "slack", "description": "What the webhook expects."},
                    "title": {"type": "string", "description": "A heading above the text."},
                    "text": {"type": "string", "minLength": 1, "description": "The message (Slack mrkdwn or Teams card text)."},
                    "blocks": {"type": "array", "items": {"type": "object"}, "description": "Slack Block Kit blocks, or Adaptive Card elements for Teams."},
                },
                "required": ["credential_id", "text"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Post to Chat", "messaging")
        }
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: ChatConfig = parse_config(config)?;
        let credential = ctx
            .credential(Self::KIND, &config.credential_id, &["chat_webhook"])
            .await?;
        let url = self
            .outbound
            .check_url(Self::KIND, credential.text("url"))?;
        // The webhook's path is its secret: messages name only the host.
        let label = format!("the incoming webhook at {}", url.host_str().unwrap_or("?"));
        let payload = match config.format {
            Format::Slack => slack_payload(&config),
            Format::Teams => teams_payload(&config),
        };
        let request = self
            .outbound
            .client(Self::KIND)?
            .post(url)
            .json(&payload)
            .timeout(std::time::Duration::from_millis(Self::TIMEOUT_MS))
            .build()
            .map_err(|e| NodeError::fatal(format!("chat.post: invalid request: {e}")))?;
        if ctx.dry_run {
            // The webhook URL's path is its secret.
            let path = request.url().path().to_owned();
            let secrets = if path == "/" {
                vec![]
            } else {
                vec![path.as_str()]
            };
            return Ok(NodeOutput::main(json!({
                "dry_run": true,
                "would_send": preview(&request, &secrets),
            })));
        }
        let reply = self
            .outbound
            .send_as(ctx, Self::KIND, &label, request, Self::TIMEOUT_MS)
            .await?;
        let status = reply.status.as_u16();
        if !reply.status.is_success() {
            let message = format!(
                "chat.post: the webhook refused the message ({status}): {}",
                answer_text(reply.body())
            );
            return Err(reply.status_error(message));
        }
        Ok(NodeOutput::main(
            json!({"status": status, "response": reply.body()}),
        ))
    }
}

/// A short form of the service's answer for a message.
fn answer_text(body: &Value) -> String {
    let text = match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars().take(200).collect()
}
