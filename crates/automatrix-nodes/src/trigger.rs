//! Trigger nodes: `trigger.manual` and `trigger.webhook`.
//!
//! A trigger does no work when it runs: the engine sets its input to the execution input and
//! its output is that input, so the rest of the workflow reads it as `$trigger` or through
//! `$node["<trigger id>"]`. What a trigger declares matters elsewhere: the webhook endpoint
//! reads `trigger.webhook`'s config to authenticate and answer callers.

use async_trait::async_trait;
use automatrix_core::{Node, NodeContext, NodeError, NodeOutput, NodeSpec};
use serde_json::{Value, json};

/// Starts a workflow from the UI, the API or `automatrix run`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ManualTrigger;

impl ManualTrigger {
    pub const KIND: &'static str = "trigger.manual";
}

const MANUAL_DOCS: &str = r#"Starts the workflow when someone runs it by hand: the **Run** button, `POST /api/workflows/{id}/execute` with `{"input": ...}`, or `automatrix run FILE --input JSON`.

**Output:** the execution input, unchanged (`{}` when none was given).

**Example**

```json
{"id": "start", "type": "trigger.manual", "config": {}}
```

With `automatrix run lead.json --input '{"email": "ann@example.com"}'`, later nodes read `{{ $trigger.email }}`.
"#;

#[async_trait]
impl Node for ManualTrigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Starts the workflow when it is run by hand or through the API.",
            config_schema: json!({
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }),
            is_trigger: true,
            docs: MANUAL_DOCS,
            ..NodeSpec::new(Self::KIND, "Manual trigger", "trigger")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        _config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

/// Starts a workflow when an outside system calls its webhook URL.
#[derive(Clone, Copy, Debug, Default)]
pub struct WebhookTrigger;

impl WebhookTrigger {
    pub const KIND: &'static str = "trigger.webhook";
}

/// The methods a webhook may accept.
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

const WEBHOOK_DOCS: &str = r#"Starts the workflow when an outside system (a lead form, a DMS, a CRM) calls the workflow's webhook URL, `/hooks/{token}` (the workflow's `webhook_url`).

**Output:** the request, as `{body, query, headers, method}`: `body` is the parsed JSON body (or the text when it is not JSON), `query` the query-string parameters, `headers` the request headers with lower-case names, `method` the HTTP method.

**Responding:** with `respond: "immediately"` (the default) the caller gets `202 Accepted` with the execution id at once; with `respond: "on_completion"` the call waits for the workflow to finish, for at most `response_timeout_ms` (default 30 s), and answers with its output.

**Authentication:** set `secret` to require callers to present a shared secret; add `hmac_header` to require an HMAC-SHA256 signature of the raw body, keyed with `secret`, in that header instead. Put the secret in a workflow variable rather than in the definition: `"secret": "{{ $vars.lead_form_secret }}"`.

**Example**

```json
{
  "id": "lead",
  "type": "trigger.webhook",
  "config": {
    "respond": "on_completion",
    "method": "POST",
    "secret": "{{ $vars.lead_form_secret }}",
    "hmac_header": "X-Signature",
    "response_timeout_ms": 10000
  }
}
```

A later node reads the lead's email as `{{ $trigger.body.email }}`.
"#;

#[async_trait]
impl Node for WebhookTrigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Starts the workflow when its webhook URL is called.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "respond": {
                        "description": "When the caller gets its answer: `immediately` (202 with the execution id) or `on_completion` (the workflow's output).",
                        "enum": ["immediately", "on_completion"],
                        "default": "immediately",
                    },
                    "method": {
                        "description": "The HTTP method, or list of methods, the webhook accepts. Any of them when absent.",
                        "oneOf": [
                            {"enum": METHODS},
                            {
                                "type": "array",
                                "items": {"enum": METHODS},
                                "minItems": 1,
                                "uniqueItems": true,
                            },
                        ],
                    },
                    "secret": {
                        "description": "Shared secret callers must present; the HMAC key when `hmac_header` is set.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "hmac_header": {
                        "description": "Header carrying an HMAC-SHA256 signature of the raw request body, keyed with `secret`.",
                        "type": "string",
                        "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
                    },
                    "response_timeout_ms": {
                        "description": "With `respond: on_completion`, the longest the caller waits for the workflow to finish.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 300_000,
                        "default": 30_000,
                    },
                },
                "dependentRequired": {"hmac_header": ["secret"]},
                "additionalProperties": false,
            }),
            is_trigger: true,
            docs: WEBHOOK_DOCS,
            ..NodeSpec::new(Self::KIND, "Webhook", "trigger")
        }
    }

    async fn execute(
        &self,
        _ctx: &NodeContext,
        _config: Value,
        input: Value,
    ) -> Result<NodeOutput, NodeError> {
        Ok(NodeOutput::main(input))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::run;

    fn schema_accepts(node: &impl Node, config: Value) -> bool {
        jsonschema::validator_for(&node.spec().config_schema)
            .unwrap()
            .is_valid(&config)
    }

    #[tokio::test]
    async fn manual_trigger_outputs_the_execution_input_unchanged() {
        let input = json!({"email": "ann@example.com", "score": 72});

        let out = run(&ManualTrigger, json!({}), input.clone()).await.unwrap();

        assert_eq!(out, NodeOutput::main(input));
    }

    #[test]
    fn manual_trigger_accepts_only_an_empty_config() {
        assert!(ManualTrigger.spec().is_trigger);
        assert!(schema_accepts(&ManualTrigger, json!({})));
        assert!(!schema_accepts(
            &ManualTrigger,
            json!({"respond": "immediately"})
        ));
    }

    #[tokio::test]
    async fn webhook_trigger_outputs_the_request_it_was_given() {
        let input = json!({
            "body": {"email": "ann@example.com"},
            "query": {"source": "website"},
            "headers": {"content-type": "application/json"},
            "method": "POST",
        });

        let out = run(
            &WebhookTrigger,
            json!({"respond": "on_completion"}),
            input.clone(),
        )
        .await
        .unwrap();

        assert_eq!(out, NodeOutput::main(input));
    }

    #[test]
    fn webhook_schema_accepts_the_documented_settings() {
        let full = json!({
            "respond": "on_completion",
            "method": ["POST", "PUT"],
            "secret": "s3cret",
            "hmac_header": "X-Signature",
            "response_timeout_ms": 10_000,
        });

        assert!(WebhookTrigger.spec().is_trigger);
        assert!(schema_accepts(&WebhookTrigger, json!({})));
        assert!(schema_accepts(&WebhookTrigger, json!({"method": "GET"})));
        assert!(schema_accepts(&WebhookTrigger, full));
    }

    #[test]
    fn webhook_schema_rejects_unknown_values_and_an_hmac_header_without_a_secret() {
        for bad in [
            json!({"respond": "later"}),
            json!({"method": "FETCH"}),
            json!({"method": []}),
            json!({"hmac_header": "X-Signature"}),
            json!({"response_timeout_ms": 0}),
            json!({"response_timeout_ms": 1.5}),
            json!({"secret": ""}),
            json!({"path": "/leads"}),
        ] {
            assert!(!schema_accepts(&WebhookTrigger, bad.clone()), "{bad}");
        }
    }
}
