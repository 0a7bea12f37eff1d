//! `email.send`'s config and the message built from it: addresses parsed and checked per field,
//! header values kept to one line, the body as text, HTML or both.

use lettre::message::{Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::{Address, Message};
use serde::Deserialize;
use serde_json::{Value, json};

/// The node's config, after its templates were expanded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailConfig {
    /// An `smtp` credential.
    pub credential_id: String,
    pub from: String,
    pub to: Recipients,
    #[serde(default)]
    pub cc: Option<Recipients>,
    #[serde(default)]
    pub bcc: Option<Recipients>,
    #[serde(default)]
    pub reply_to: Option<Recipients>,
    pub subject: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    super::EmailSend::DEFAULT_TIMEOUT_MS
}

/// Addresses as written: one string of comma-separated addresses, or an array of such strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Recipients {
    One(String),
    Many(Vec<String>),
}

impl Recipients {
    fn texts(&self) -> &[String] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

/// A message ready to send, and who it goes to (for the output).
#[derive(Debug)]
pub(super) struct Outgoing {
    pub message: Message,
    /// Envelope recipients: `to`, `cc` and `bcc`, each address once.
    pub recipients: Vec<String>,
    /// What a dry run shows instead of sending: the message's fields as they would go out.
    pub preview: Value,
}

/// Builds the message. Errors name the config field.
pub(super) fn build(config: &EmailConfig, message_id: &str) -> Result<Outgoing, String> {
    let from = mailbox("from", &config.from)?;
    let to = mailboxes("to", Some(&config.to))?;
    if to.is_empty() {
        return Err("`to` needs at least one address".to_owned());
    }
    let cc = mailboxes("cc", config.cc.as_ref())?;
    let bcc = mailboxes("bcc", config.bcc.as_ref())?;
    let reply_to = mailboxes("reply_to", config.reply_to.as_ref())?;

    let mut recipients: Vec<Address> = Vec::new();
    for mb in to.iter().chain(&cc).chain(&bcc) {
        // Addresses compare case-insensitively in practice; one RCPT per mailbox.
        if !recipients
            .iter()
            .any(|a| AsRef::<str>::as_ref(a).eq_ignore_ascii_case(mb.email.as_ref()))
        {
            recipients.push(mb.email.clone());
        }
    }
    let envelope = lettre::address::Envelope::new(Some(from.email.clone()), recipients.clone())
        .map_err(|e| format!("cannot address the message: {e}"))?;

    let texts = |list: &[Mailbox]| list.iter().map(ToString::to_string).collect::<Vec<_>>();
    let preview = json!({
        "message_id": message_id,
        "from": from.to_string(),
        "to": texts(&to),
        "cc": texts(&cc),
        "bcc": texts(&bcc),
        "reply_to": texts(&reply_to),
        "subject": one_line(&config.subject),
        "text": config.text,
        "html": config.html,
        "recipients": recipients.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let mut builder = Message::builder()
        .from(from)
        .subject(one_line(&config.subject))
        .message_id(Some(message_id.to_owned()))
        .envelope(envelope);
    for mb in to {
        builder = builder.to(mb);
    }
    for mb in cc {
        builder = builder.cc(mb);
    }
    for mb in reply_to {
        builder = builder.reply_to(mb);
    }
    // Bcc recipients are only in the envelope: no `Bcc` header tells the others about them.
    let message = match (&config.text, &config.html) {
        (Some(text), Some(html)) => builder.multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        (Some(text), None) => builder.singlepart(SinglePart::plain(text.clone())),
        (None, Some(html)) => builder.singlepart(SinglePart::html(html.clone())),
        (None, None) => return Err("give `text`, `html` or both".to_owned()),
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    Ok(Outgoing {
        message,
        recipients: recipients.iter().map(ToString::to_string).collect(),
        preview,
    })
}

/// What is wrong with the literal address fields of a config (validation time); fields that
/// hold a `{{ }}` template are checked when the node runs.
pub(super) fn address_issues(config: &Value) -> Vec<(&'static str, String)> {
    let literal = |field: &str| -> Option<Recipients> {
        let value = config.get(field)?;
        let holds_template = match value {
            Value::String(s) => s.contains("{{"),
            Value::Array(items) => items
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.contains("{{"))),
            _ => false,
        };
        if holds_template {
            return None;
        }
        serde_json::from_value(value.clone()).ok()
    };
    let mut issues = Vec::new();
    if let Some(Recipients::One(from)) = literal("from")
        && let Err(e) = mailbox("from", &from)
    {
        issues.push(("from", e));
    }
    for field in ["to", "cc", "bcc", "reply_to"] {
        if let Some(list) = literal(field) {
            match mailboxes(field, Some(&list)) {
                Ok(found) if found.is_empty() && field == "to" => {
                    issues.push((field, "`to` needs at least one address".to_owned()));
                }
                Ok(_) => {}
                Err(e) => issues.push((field, e)),
            }
        }
    }
    issues
}

/// One mailbox: `dealer@example.com` or `Sales <dealer@example.com>`.
fn mailbox(field: &str, text: &str) -> Result<Mailbox, String> {
    one_line_only(field, text)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("`{field}` needs an address"));
    }
    text.parse::<Mailbox>()
        .map_err(|e| invalid(field, text, &e))
}

/// Every mailbox of a field; empty strings (a template that found nothing) add none.
fn mailboxes(field: &str, list: Option<&Recipients>) -> Result<Vec<Mailbox>, String> {
    let mut out = Vec::new();
    for text in list.map(Recipients::texts).unwrap_or_default() {
        one_line_only(field, text)?;
        let text = text.trim().trim_end_matches(',');
        if text.is_empty() {
            continue;
        }
        // lettre's list parser keeps quoted display names with commas ("Doe, Jo" <jo@x.com>).
        let parsed: Mailboxes = text.parse().map_err(|e| invalid(field, text, &e))?;
        out.extend(parsed);
    }
    Ok(out)
}

fn invalid(field: &str, text: &str, e: &lettre::address::AddressError) -> String {
    format!(
        "`{field}` is not a valid address or list of addresses: `{text}` ({})",
        e.to_string().to_lowercase()
    )
}

/// Refuses line breaks and other control characters in an address field: they would start a
/// new header line.
fn one_line_only(field: &str, text: &str) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        return Err(format!(
            "`{field}` holds a line break or another control character; addresses are one line"
        ));
    }
    Ok(())
}

/// The text with each run of control characters (line breaks, tabs) made one space, so a value
/// from a web form cannot add header lines.
pub(super) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if c.is_control() {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}
