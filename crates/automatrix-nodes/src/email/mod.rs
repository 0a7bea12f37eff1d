//! Email nodes: `email.send`, one message through the SMTP server of an `smtp` credential.
//!
//! Each step opens its own connection (lettre's `AsyncSmtpTransport`, built from the credential
//! it just read, so a rotated password takes effect at once) and closes it with `QUIT`. The
//! message is built in [`message`]; this module talks to the server and sorts its failures
//! into retryable and fatal.

mod message;

use std::time::Duration;

use async_trait::async_trait;
use automatrix_core::node::{ConfigIssue, parse_config};
use automatrix_core::{Credential, Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::{self, AsyncSmtpTransport, response::Response};
use lettre::{AsyncTransport, Tokio1Executor};
use serde_json::{Value, json};
use tracing::instrument;

use message::{EmailConfig, Outgoing};

use crate::http::outbound::chain;

/// Sends an email and outputs `{message_id, accepted, response}`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EmailSend;

const DOCS: &str = r#"Sends an email through your SMTP server: a lead follow-up, a service reminder, a note to the sales desk.

**Server:** `credential_id` names an `smtp` credential (`POST /api/credentials`): `{host, port, username?, password?, tls}`. `tls` is `starttls` (upgrade a plain connection; the server must offer STARTTLS, usually port 587), `tls` (encrypted from the start, usually 465) or `none` (never encrypted: only for a relay on your own network). Certificates are checked against the public web PKI. With a `username` the node logs in (AUTH PLAIN or LOGIN, whichever the server offers). The password never appears in errors or step logs.

**Addresses:** `from` is one address, optionally with a name (`Sales <sales@dealer.com>`). `to`, `cc`, `bcc` and `reply_to` take a string of comma-separated addresses or an array of them; an empty string adds none (so `{{ $json.cc }}` may be blank), but `to` needs at least one. `bcc` recipients get the message without appearing in its headers. Literal addresses are checked when the workflow is saved, templated ones when the step runs; an invalid address is a fatal error naming the field.

**Content:** `subject`, and `text`, `html` or both (both: a `multipart/alternative` message, so mail clients show the HTML and fall back to the text). Line breaks and other control characters in `subject` become spaces, and addresses with them are refused, so lead data cannot add headers.

**Output:** `{message_id, accepted, response}`: the `Message-ID` header, the envelope recipients the server accepted (all of them, or the step fails) and the server's final reply (`250 ...`).

**Retries and duplicates:** SMTP has no exactly-once delivery. The `Message-ID` is derived from the execution and node id (`<{execution_id}.{node_id}@automatrix>`), the same on every retry of the step, so mail clients and archives that de-duplicate by it show one message. A retry can still deliver twice: when the connection breaks after the server took the message but before its reply arrived, the step fails as retryable and the next attempt sends it again.

**Errors**
- Connection refused, timeouts (`timeout_ms`, the whole exchange) and `4xx` replies (greylisting, a full mailbox, too many connections) are retryable: the node's retry policy applies.
- `5xx` replies are fatal: a recipient the server refuses (the message then goes to nobody), a failed login, a sender it will not relay for. So are TLS failures (a bad certificate, no STARTTLS offered) and a server without a login mechanism the node speaks.
- Cancelling the execution, or the step's own timeout, stops the exchange at once.

**Dry run:** in a dry run (`POST /api/workflows/{id}/execute` with `"dry_run": true`) the node does everything but connect: it expands the config, builds and checks the message, reads the credential and checks its type and `tls`, then completes on `main` with what it would have sent, and opens no connection:

```text
{"dry_run": true, "would_send": {"server": "smtp://mail.example.com:587", "message_id": "<…@automatrix>",
  "from": "Sales <sales@dealer.com>", "to": ["jo@example.com"], "cc": [], "bcc": [], "reply_to": [],
  "subject": "…", "text": "…", "html": null, "recipients": ["jo@example.com"]}}
```

`recipients` are the envelope recipients (`to`, `cc` and `bcc`, each once). The credential's username and password are never shown.

**Network:** the server is the credential's `host` and `port`, never a value from workflow data, and an on-premise relay on a private address is the normal case, so the SSRF guard of `http.request` (`AUTOMATRIX_HTTP_ALLOW_PRIVATE`, allow-listed hosts) does not apply to SMTP. Whoever can save credentials in the organization can therefore make the server connect to any host and port; restrict outbound SMTP at the network level where that matters.

**Example**

```json
{
  "id": "follow_up",
  "type": "email.send",
  "config": {
    "credential_id": "0191d2c4-7a9e-7cc0-9a55-5b1e0e7d4f10",
    "from": "Sunset Motors Sales <sales@sunsetmotors.example>",
    "to": "{{ $json.email }}",
    "cc": ["manager@sunsetmotors.example"],
    "reply_to": "{{ $json.salesperson_email }}",
    "subject": "Your {{ $json.vehicle }} at Sunset Motors",
    "text": "Hi {{ $json.first_name }}, thanks for your interest in the {{ $json.vehicle }}. When can you come by for a test drive?",
    "html": "<p>Hi {{ $json.first_name }},</p><p>thanks for your interest in the <b>{{ $json.vehicle }}</b>. When can you come by for a test drive?</p>"
  }
}
```
"#;

impl EmailSend {
    pub const KIND: &'static str = "email.send";
    pub const DEFAULT_TIMEOUT_MS: u64 = 30_000;
    pub const MAX_TIMEOUT_MS: u64 = 300_000;
}

#[async_trait]
impl Node for EmailSend {
    fn spec(&self) -> NodeSpec {
        let addresses = |description: &str| {
            json!({
                "description": description,
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
            })
        };
        NodeSpec {
            side_effects: true,
            description: "Sends an email (text, HTML or both) through an SMTP server.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "credential_id": {
                        "description": "The `smtp` credential naming the server and its login.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "from": {
                        "description": "The sender: `sales@dealer.com` or `Sales <sales@dealer.com>`.",
                        "type": "string",
                    },
                    "to": addresses("Recipients: comma-separated addresses, or an array of them."),
                    "cc": addresses("Copy recipients, shown in the message."),
                    "bcc": addresses("Blind-copy recipients, not shown in the message."),
                    "reply_to": addresses("Where replies go, when not to `from`."),
                    "subject": {
                        "description": "The subject line; line breaks become spaces.",
                        "type": "string",
                    },
                    "text": {
                        "description": "The plain-text body.",
                        "type": "string",
                    },
                    "html": {
                        "description": "The HTML body; with `text`, the message has both.",
                        "type": "string",
                    },
                    "timeout_ms": {
                        "description": "Limit for the whole exchange with the server, in milliseconds.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": Self::MAX_TIMEOUT_MS,
                        "default": Self::DEFAULT_TIMEOUT_MS,
                    },
                },
                "required": ["credential_id", "from", "to", "subject"],
                "anyOf": [{"required": ["text"]}, {"required": ["html"]}],
                "additionalProperties": false,
            }),
            docs: DOCS,
            ..NodeSpec::new(Self::KIND, "Send Email", "email")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        message::address_issues(config)
            .into_iter()
            .map(|(field, issue)| ConfigIssue {
                field: field.to_owned(),
                issue,
            })
            .collect()
    }

    #[instrument(skip_all, fields(node_id = %ctx.node_id))]
    async fn execute(
        &self,
        ctx: &NodeContext,
        config: Value,
        _input: Value,
    ) -> Result<NodeOutput, NodeError> {
        let config: EmailConfig = parse_config(config)?;
        if !(1..=Self::MAX_TIMEOUT_MS).contains(&config.timeout_ms) {
            return Err(fatal(format!(
                "timeout_ms must be between 1 and {}, got {}",
                Self::MAX_TIMEOUT_MS,
                config.timeout_ms
            )));
        }
        let message_id = message_id(ctx);
        let outgoing = message::build(&config, &message_id).map_err(fatal)?;
        let credential = ctx
            .credential(Self::KIND, &config.credential_id, &["smtp"])
            .await?;
        let server = Server::from_credential(&credential);
        let timeout = Duration::from_millis(config.timeout_ms);
        let transport = server.transport(timeout)?;
        if ctx.dry_run {
            let mut would_send = outgoing.preview;
            would_send["server"] = json!(server.label());
            return Ok(NodeOutput::main(
                json!({"dry_run": true, "would_send": would_send}),
            ));
        }

        let response = tokio::select! {
            sent = tokio::time::timeout(timeout, send(&transport, &outgoing)) => match sent {
                Ok(result) => result.map_err(|e| server.error(&e))?,
                Err(_) => return Err(NodeError::retryable(format!(
                    "email.send: {} did not finish within {}ms", server.label(), config.timeout_ms
                ))),
            },
            () = ctx.cancel.cancelled() => return Err(NodeError::retryable(format!(
                "email.send: cancelled before {} confirmed the message", server.label()
            ))),
        };
        Ok(NodeOutput::main(json!({
            "message_id": message_id,
            "accepted": outgoing.recipients,
            "response": reply_text(&response),
        })))
    }
}

/// `<{execution_id}.{node_id}@automatrix>`: the same on every retry of the step (node ids are
/// letters, digits, `_` and `-`, all valid in a message id).
fn message_id(ctx: &NodeContext) -> String {
    format!("<{}.{}@automatrix>", ctx.execution_id, ctx.node_id)
}

#[instrument(skip_all, fields(recipients = outgoing.recipients.len()))]
async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    outgoing: &Outgoing,
) -> Result<Response, smtp::Error> {
    transport.send(outgoing.message.clone()).await
}

fn fatal(message: impl std::fmt::Display) -> NodeError {
    NodeError::fatal(format!("email.send: {message}"))
}

/// `250 2.0.0 Ok: queued as 1`: the code and the reply's lines.
fn reply_text(response: &Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" "))
        .trim_end()
        .to_owned()
}

/// The server of an `smtp` credential.
struct Server {
    host: String,
    port: u16,
    tls: String,
    username: Option<String>,
    /// Only to build the transport and to scrub it from messages.
    password: Option<String>,
}

impl Server {
    fn from_credential(credential: &Credential) -> Self {
        Self {
            host: credential.text("host").to_owned(),
            port: credential.data["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(25),
            tls: credential.text("tls").to_owned(),
            username: credential.optional_text("username").map(str::to_owned),
            password: credential.optional_text("password").map(str::to_owned),
        }
    }

    fn label(&self) -> String {
        format!("smtp://{}:{}", self.host, self.port)
    }

    /// A transport for one message. `timeout` also bounds connecting and each reply.
    fn transport(
        &self,
        timeout: Duration,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, NodeError> {
        type Smtp = AsyncSmtpTransport<Tokio1Executor>;
        let builder = match self.tls.as_str() {
            "none" => Smtp::builder_dangerous(&self.host),
            "starttls" => Smtp::starttls_relay(&self.host).map_err(|e| self.error(&e))?,
            "tls" => Smtp::relay(&self.host).map_err(|e| self.error(&e))?,
            other => {
                return Err(fatal(format!(
                    "the credential's tls must be none, starttls or tls, not `{other}`"
                )));
            }
        };
        let builder = builder.port(self.port).timeout(Some(timeout));
        let builder = match &self.username {
            Some(user) => builder.credentials(Credentials::new(
                user.clone(),
                self.password.clone().unwrap_or_default(),
            )),
            None => builder,
        };
        Ok(builder.build())
    }

    /// Classifies a failure. 4xx replies, timeouts and network trouble may pass; 5xx replies,
    /// TLS and protocol mismatches will not.
    fn error(&self, e: &smtp::Error) -> NodeError {
        let text = self.scrub(&chain(e));
        let message = format!("email.send: {}: {text}", self.label());
        if e.is_permanent() || e.is_client() || e.is_tls() {
            NodeError::fatal(message)
        } else {
            NodeError::retryable(message)
        }
    }

    /// The text without the password: servers do not echo it, but a message must never risk it.
    fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(password) => text.replace(password.as_str(), "<redacted>"),
            None => text.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
