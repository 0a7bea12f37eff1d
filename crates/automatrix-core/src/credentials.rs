//! The credential types: what each holds (a JSON Schema of its `data`), checked when a
//! credential is saved so that a node reading it finds the fields it needs.

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Value, json};

use crate::validate::Problem;

/// One credential type of the catalog.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialType {
    /// The durable name (`smtp`, `http_bearer`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: &'static str,
    /// JSON Schema of `data`.
    pub data_schema: Value,
    #[serde(skip)]
    validator: std::sync::Arc<jsonschema::Validator>,
}

fn text(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false
    })
}

fn entry(kind: &'static str, description: &'static str, data_schema: Value) -> CredentialType {
    let validator = jsonschema::validator_for(&data_schema)
        .unwrap_or_else(|e| panic!("credential type {kind}: schema does not compile: {e}"));
    CredentialType {
        kind,
        description,
        data_schema,
        validator: std::sync::Arc::new(validator),
    }
}

static TYPES: LazyLock<Vec<CredentialType>> = LazyLock::new(|| {
    vec![
        entry(
            "smtp",
            "An SMTP server for email.send.",
            object(
                json!({
                    "host": text("The server's host name or address."),
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "The port (587 for STARTTLS, 465 for TLS, 25 plain)."},
                    "username": {"type": "string", "description": "Login name, when the server wants one."},
                    "password": {"type": "string", "description": "Password, when the server wants one."},
                    "tls": {"enum": ["none", "starttls", "tls"], "description": "`starttls` upgrades a plain connection (port 587), `tls` starts encrypted (465), `none` never encrypts (a local relay only)."}
                }),
                &["host", "port", "tls"],
            ),
        ),
        entry(
            "http_bearer",
            "An `Authorization: Bearer` token for http.request.",
            object(json!({"token": text("The token.")}), &["token"]),
        ),
        entry(
            "http_basic",
            "HTTP basic authentication for http.request.",
            object(
                json!({"username": text("User name."), "password": {"type": "string", "description": "Password."}}),
                &["username", "password"],
            ),
        ),
        entry(
            "http_header",
            "An API key sent in a request header (`X-Api-Key: …`) by http.request.",
            object(
                json!({"name": text("The header name."), "value": text("The key.")}),
                &["name", "value"],
            ),
        ),
        entry(
            "http_query",
            "An API key sent as a query parameter (`?api_key=…`) by http.request.",
            object(
                json!({"name": text("The parameter name."), "value": text("The key.")}),
                &["name", "value"],
            ),
        ),
        entry(
            "twilio",
            "A Twilio-compatible SMS API for sms.send: any provider (or test double) that speaks Twilio's Messages API at `base_url`.",
            object(
                json!({
                    "account_sid": text("Account SID (the basic-auth user and part of the path)."),
                    "auth_token": text("Auth token (the basic-auth password)."),
                    "base_url": {"type": "string", "format": "uri", "description": "The API's base URL; default `https://api.twilio.com`."},
                    "from": {"type": "string", "description": "The default sender number (E.164) or messaging service SID."}
                }),
                &["account_sid", "auth_token"],
            ),
        ),
        entry(
            "chat_webhook",
            "A Slack or Microsoft Teams incoming-webhook URL for chat.post (the URL is the secret).",
            object(
                json!({"url": {"type": "string", "pattern": "^https?://", "description": "The incoming-webhook URL."}}),
                &["url"],
            ),
        ),
        entry(
            "openai",
            "OpenAI's API (`/chat/completions`) for AI routes.",
            object(
                json!({
                    "api_key": text("The API key (`sk-…`)."),
                    "base_url": {"type": "string", "pattern": "^https?://", "description": "Default `https://api.openai.com/v1`."},
                    "organization": {"type": "string", "description": "An OpenAI organization id, sent as `OpenAI-Organization`."}
                }),
                &["api_key"],
            ),
        ),
        entry(
            "azure_openai",
            "An Azure OpenAI deployment for AI routes.",
            object(
                json!({
                    "api_key": text("The resource's key (sent as `api-key`)."),
                    "endpoint": {"type": "string", "pattern": "^https?://", "description": "`https://<resource>.openai.azure.com`."},
                    "deployment": text("The deployment name."),
                    "api_version": text("The API version, e.g. `2024-10-21`.")
                }),
                &["api_key", "endpoint", "deployment", "api_version"],
            ),
        ),
        entry(
            "anthropic",
            "Anthropic's Messages API (`/v1/messages`) for AI routes.",
            object(
                json!({
                    "api_key": text("The API key (sent as `x-api-key`)."),
                    "base_url": {"type": "string", "pattern": "^https?://", "description": "Default `https://api.anthropic.com`."}
                }),
                &["api_key"],
            ),
        ),
        entry(
            "openai_compatible",
            "Any server speaking OpenAI's `/chat/completions` (Ollama, vLLM, LM Studio) for AI routes.",
            object(
                json!({
                    "base_url": {"type": "string", "pattern": "^https?://", "description": "The API's base URL, e.g. `http://10.0.0.5:11434/v1`."},
                    "api_key": {"type": "string", "description": "A bearer key, when the server wants one."}
                }),
                &["base_url"],
            ),
        ),
        entry(
            "postgres",
            "A PostgreSQL database for db.query.",
            object(
                json!({"url": {"type": "string", "pattern": "^postgres(ql)?://", "description": "A connection URL: `postgres://user:password@host:5432/database`."}}),
                &["url"],
            ),
        ),
    ]
});

/// Every credential type, in catalog order.
pub fn credential_types() -> &'static [CredentialType] {
    &TYPES
}

/// What is wrong with `data` for a credential of type `kind`, as problems at `type` or under
/// `data` (`data.port`). Empty when it is fine.
pub fn check_credential(kind: &str, data: &Value) -> Vec<Problem> {
    let Some(t) = TYPES.iter().find(|t| t.kind == kind) else {
        let known: Vec<&str> = TYPES.iter().map(|t| t.kind).collect();
        return vec![Problem {
            path: "type".into(),
            issue: format!("unknown credential type; one of {}", known.join(", ")),
        }];
    };
    t.validator
        .iter_errors(data)
        .map(|err| {
            let at = err.instance_path().as_str().replace('/', ".");
            // The message never repeats the value: it may be the secret.
            Problem {
                path: format!("data{at}"),
                issue: describe(&err),
            }
        })
        .collect()
}

fn describe(err: &jsonschema::ValidationError<'_>) -> String {
    use jsonschema::error::ValidationErrorKind as K;
    match err.kind() {
        K::Required { property } => format!("{property} is required"),
        K::AdditionalProperties { unexpected } => {
            format!("unknown field(s): {}", unexpected.join(", "))
        }
        K::Type { .. } => "has the wrong type".into(),
        K::Enum { options } => format!("must be one of {options}"),
        K::Pattern { pattern } => format!("must match {pattern}"),
        K::MinLength { .. } => "must not be empty".into(),
        K::Minimum { limit } => format!("must be at least {limit}"),
        K::Maximum { limit } => format!("must be at most {limit}"),
        _ => "is not valid for this credential type".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_smtp_credential_passes() {
        let data = json!({"host": "smtp.dealer.com", "port": 587, "username": "bdc", "password": "pw", "tls": "starttls"});
        assert_eq!(check_credential("smtp", &data), vec![]);
    }

    #[test]
    fn problems_name_the_field_and_never_the_value() {
        let data = json!({"host": "smtp.dealer.com", "port": 70000, "tls": "sometimes", "extra": "hunter2"});
        let problems = check_credential("smtp", &data);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"data.port"), "{problems:?}");
        assert!(paths.contains(&"data.tls"), "{problems:?}");
        assert!(paths.contains(&"data"), "{problems:?}");
        assert!(
            problems.iter().all(|p| !p.issue.contains("hunter2")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_unknown_type_is_a_problem_at_type() {
        let problems = check_credential("ftp", &json!({}));
        assert_eq!(problems[0].path, "type");
        assert!(problems[0].issue.contains("smtp"));
    }

    #[test]
    fn missing_required_fields_are_named() {
        let problems = check_credential("twilio", &json!({"account_sid": "AC1"}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].issue, "\"auth_token\" is required");
    }
}
