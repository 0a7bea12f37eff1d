//! `sms.send`: a text message through a Twilio-compatible Messages API.

use std::sync::Arc;

use async_trait::async_trait;
use automatrix_core::node::parse_config;
use automatrix_core::{ConfigIssue, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::dealer::{check_country, country_schema, phone};
use crate::http::Outbound;
use crate::http::outbound::preview;

/// Sends an SMS (or MMS) through a Twilio-compatible API.
#[derive(Debug)]
pub struct SmsSend {
    outbound: Arc<Outbound>,
}

impl SmsSend {
    pub const KIND: &'static str = "sms.send";
    /// Twilio's limit for one message body (it splits into segments below that).
    pub const MAX_BODY_CHARS: usize = 1600;
    const TIMEOUT_MS: u64 = 30_000;
    const DEFAULT_BASE_URL: &'static str = "https://api.twilio.com";

    pub fn new(outbound: Arc<Outbound>) -> Self {
        Self { outbound }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsConfig {
    credential_id: String,
    to: String,
    body: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    media_url: Option<String>,
    #[serde(default = "us")]
    default_country: String,
}

fn us() -> String {
    "US".to_owned()
}

const DOCS: &str = r#"Sends a text message: the appointment reminder, the "your car is ready" note, the first touch on a web lead.

**Provider:** any API that speaks Twilio's Messages API (`POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, form fields `To`, `From` or `MessagingServiceSid`, `Body`, `MediaUrl`, basic authentication with the account SID and auth token). The `twilio` credential holds `account_sid`, `auth_token`, optionally `base_url` (default `https://api.twilio.com`, so other providers and test doubles can stand in) and a default `from`.

**Numbers:** `to` is normalized to E.164 the way `dealer.phone_normalize` does it, national numbers read in `default_country` (US by default); a number that is not valid fails the step before anything is sent. `from` (here or in the credential) is a number, or a messaging service SID (`MG…`).

**Output:** `{sid, status, to, from, segments}` from the provider's answer (`status` is usually `queued`; delivery is reported later, by the provider).

**Errors:** a rejected message (4xx: an invalid or unsubscribed number, a bad sender) is fatal, with the provider's `{code, message}` in the error; 429 and 5xx are retryable. SMS APIs take no idempotency key: a retry after a timeout, when the provider did receive the first request, can send the text twice. The body is limited to 1,600 characters.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) the node checks and normalizes the number, reads the credential and builds the request, then completes on `main` without sending: `{"dry_run": true, "to", "from", "would_send": {method, url, query, headers, body}}`, where `would_send` is the provider request (see `http.request`'s dry run), its `Authorization` header and the auth token shown as `[redacted]` and `body` the form it would post (`To=%2B1…&From=…&Body=…`).

**Example**

```json
{"id": "text", "type": "sms.send", "config": {"credential_id": "0193e0c4-5b2a-7c1e-9d40-2f6a8b1c3d4e", "to": "{{ $json.customer.phones[0].number }}", "body": "Hi {{ $json.customer.first_name }}, this is Sam at Riverside Honda. Is now a good time to talk about the {{ $json.vehicles[0].model }}?"}}
```
"#;

#[async_trait]
impl Node for SmsSend {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Sends a text message through a Twilio-compatible SMS API.",
            side_effects: true,
            config_schema: json!({
                "type": "object",
                "properties": {
                    "credential_id": {"type": "string", "description": "A `twilio` credential."},
                    "to": {"type": "string", "minLength": 1, "description": "The recipient's number; normalized to E.164."},
                    "body": {"type": "string", "minLength": 1, "maxLength": Self::MAX_BODY_CHARS, "description": "The message text."},
                    "from": {"type": "string", "description": "Sender number or messaging service SID (`MG…`); default: the credential's `from`."},
                    "media_url": {"type": "string", "pattern": "^https?://", "description": "A picture to send (MMS)."},
                    "default_country": country_schema(),
                },
                "required": ["credential_id", "to", "body"],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Send SMS", "messaging")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        let Some(to) = config["to"].as_str() else {
            return Vec::new();
        };
        let country = config["default_country"].as_str().unwrap_or("US");
        let number = phone::normalize(to, country);
        if number.valid {
            return Vec::new();
        }
        vec![ConfigIssue {
            field: "to".into(),
            issue: format!("is not a valid phone number: {}", number.errors.join("; ")),
        }]
    }

    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: SmsConfig = parse_config(config)?;
        check_country(&config.default_country)?;
        let to = phone::normalize(&config.to, &config.default_country);
        let Some(to) = to.e164 else {
            return Err(NodeError::fatal(format!(
                "sms.send: `to` is not a valid phone number: {}",
                to.errors.join("; ")
            )));
        };
        if config.body.chars().count() > Self::MAX_BODY_CHARS {
            return Err(NodeError::fatal(format!(
                "sms.send: the body is longer than {} characters",
                Self::MAX_BODY_CHARS
            )));
        }
        let credential = ctx
            .credential(Self::KIND, &config.credential_id, &["twilio"])
            .await?;
        let sid = credential.text("account_sid");
        let base = credential
            .optional_text("base_url")
            .unwrap_or(Self::DEFAULT_BASE_URL)
            .trim_end_matches('/');
        let url = self.outbound.check_url(
            Self::KIND,
            &format!("{base}/2010-04-01/Accounts/{sid}/Messages.json"),
        )?;
        let Some(from) = config
            .from
            .as_deref()
            .or_else(|| credential.optional_text("from"))
        else {
            return Err(NodeError::fatal(
                "sms.send: no sender: set `from` or the credential's `from`",
            ));
        };
        let sender = if from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let mut form = vec![("To", to.as_str()), (sender, from), ("Body", &config.body)];
        if let Some(media) = &config.media_url {
            form.push(("MediaUrl", media));
        }
        let request = self
            .outbound
            .client(Self::KIND)?
            .post(url)
            .basic_auth(sid, credential.optional_text("auth_token"))
            .form(&form)
            .timeout(std::time::Duration::from_millis(Self::TIMEOUT_MS))
            .build()
            .map_err(|e| NodeError::fatal(format!("sms.send: invalid request: {e}")))?;
        if ctx.dry_run {
            let secrets = [credential.text("auth_token")];
            return Ok(NodeOutput::main(json!({
                "dry_run": true,
                "to": to,
                "from": from,
                "would_send": preview(&request, &secrets),
            })));
        }
        let reply = self
            .outbound
            .send(ctx, Self::KIND, request, Self::TIMEOUT_MS)
            .await?;
        if !reply.status.is_success() {
            let body = reply.body();
            let reason = match (body["code"].as_i64(), body["message"].as_str()) {
                (Some(code), Some(message)) => format!("{message} (code {code})"),
                (None, Some(message)) => message.to_owned(),
                _ => format!("status {}", reply.status),
            };
            let message = format!("sms.send: the provider refused the message to {to}: {reason}");
            return Err(reply.status_error(message));
        }
        let body = reply.body();
        Ok(NodeOutput::main(json!({
            "sid": body["sid"],
            "status": body["status"],
            "to": body.get("to").cloned().unwrap_or(json!(to)),
            "from": body.get("from").cloned().unwrap_or(json!(from)),
            "segments": body["num_segments"].as_str().and_then(|n| n.parse::<u32>().ok()).map_or(body["num_segments"].clone(), Value::from),
        })))
    }
}
