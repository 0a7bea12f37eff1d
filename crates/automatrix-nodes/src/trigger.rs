//! Trigger nodes: `trigger.manual`, `trigger.webhook`, `trigger.schedule` and `trigger.error`.
//!
//! A trigger does no work when it runs: the engine sets its input to the execution input and
//! its output is that input, so the rest of the workflow reads it as `$trigger` or through
//! `$node["<trigger id>"]`. What a trigger declares matters elsewhere: the webhook endpoint
//! reads `trigger.webhook`'s config to authenticate and answer callers, and the engine's
//! scheduler reads `trigger.schedule`'s to know when to start the workflow.

use async_trait::async_trait;
use automatrix_core::{ConfigIssue, Node, NodeSpec, SCHEDULE_TRIGGER, schedule_of};
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
            ..NodeSpec::new(Self::KIND, "Manual Trigger", "trigger")
        }
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

const WEBHOOK_DOCS: &str = r#"Starts the workflow when an outside system (a lead form, a lead provider, a DMS) calls the workflow's webhook URL, `/hooks/{token}` (the workflow's `webhook_url`; the token is unguessable, 128 bits or more). Calls reach the workflow only while it is active.

**Output:** the request, as `{body, query, headers, method}`: `body` is the parsed JSON body, a map of the fields of a form post (`application/x-www-form-urlencoded`), or the text of any other body (an ADF/XML lead arrives as its XML text; null when empty); `query` the query-string parameters; `headers` the request headers with lower-case names; `method` the HTTP method.

**Responding:** with `respond: "immediately"` (the default) the caller gets `202 Accepted` with `{execution_id}` as soon as the request is durably stored; with `respond: "on_completion"` the call waits for the workflow to finish, for at most `timeout_ms` (default 30 s), and answers `200` with its output (or `202` with the execution id when the time is up).

**Authentication:** with `secret`, every call must carry `X-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body keyed with the secret, else `401`. With `header`, every call must carry that header with that value. Both are compared in constant time.

**Limits:** `methods` restricts the accepted HTTP methods (any of them when absent; others get `405`). `rate_limit: {requests, per_seconds}` caps the calls (each server process counts its own); more get `429` with `Retry-After`. A body over the server's webhook limit (`AUTOMATRIX_WEBHOOK_MAX_BYTES`, 1 MiB by default) gets `413`; malformed JSON sent as JSON gets `400`. An `Idempotency-Key` header makes a repeat within 24 hours answer with the first call's execution instead of starting another.

**Example**

```json
{
  "id": "lead",
  "type": "trigger.webhook",
  "config": {
    "respond": "on_completion",
    "methods": ["POST"],
    "secret": "a-long-random-secret",
    "timeout_ms": 10000
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
                    "methods": {
                        "description": "The HTTP methods the webhook accepts; any of them when absent.",
                        "type": "array",
                        "items": {"enum": METHODS},
                        "minItems": 1,
                        "uniqueItems": true,
                    },
                    "secret": {
                        "description": "Key of the HMAC-SHA256 signature of the raw body every call must carry in `X-Signature-256: sha256=<hex>`.",
                        "type": "string",
                        "minLength": 16,
                    },
                    "header": {
                        "description": "A header every call must carry, with this value.",
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "pattern": "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"},
                            "value": {"type": "string", "minLength": 1},
                        },
                        "required": ["name", "value"],
                        "additionalProperties": false,
                    },
                    "rate_limit": {
                        "description": "At most `requests` calls per `per_seconds` (in bursts of up to `requests`); more get `429` with `Retry-After`.",
                        "type": "object",
                        "properties": {
                            "requests": {"type": "integer", "minimum": 1},
                            "per_seconds": {"type": "integer", "minimum": 1, "maximum": 86_400},
                        },
                        "required": ["requests", "per_seconds"],
                        "additionalProperties": false,
                    },
                    "timeout_ms": {
                        "description": "With `respond: on_completion`, the longest the caller waits for the workflow to finish.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 300_000,
                        "default": 30_000,
                    },
                },
                "additionalProperties": false,
            }),
            is_trigger: true,
            docs: WEBHOOK_DOCS,
            ..NodeSpec::new(Self::KIND, "Webhook", "trigger")
        }
    }
}

/// Starts a workflow when another workflow fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorTrigger;

impl ErrorTrigger {
    pub const KIND: &'static str = "trigger.error";
}

const ERROR_DOCS: &str = r#"Starts the workflow when another workflow fails: to alert the BDC manager when a lead could not be delivered to the CRM, to open a ticket, to retry through another route. A workflow names the one that handles its failures in its settings, `"settings": {"error_workflow_id": "<id of this workflow>"}`; when one of its executions fails, this workflow starts, in the same transaction that records the failure (so no failure goes unhandled).

**Output:** `{error: {message, execution_id, workflow_id, workflow_version, input, failed_at}}`: the failed execution's error message, ids and input, and when it failed.

**Example**

```json
{"id": "failed", "type": "trigger.error", "config": {}}
```

A later node reads `{{ $trigger.error.message }}` and links to `{{ $trigger.error.execution_id }}`. An error workflow that fails itself does not start itself again.
"#;

#[async_trait]
impl Node for ErrorTrigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Starts the workflow when a workflow that names it as its error workflow fails.",
            config_schema: json!({
                "type": "object",
                "properties": {},
                "additionalProperties": false,
            }),
            is_trigger: true,
            docs: ERROR_DOCS,
            ..NodeSpec::new(Self::KIND, "Error Trigger", "trigger")
        }
    }
}

/// Starts a workflow on a cron schedule.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScheduleTrigger;

impl ScheduleTrigger {
    pub const KIND: &'static str = SCHEDULE_TRIGGER;
}

const SCHEDULE_DOCS: &str = r#"Starts the workflow on a cron schedule, in a time zone: service reminders every weekday at 9:00 in the dealership's zone, a parts reorder check every night, a lead follow-up sweep every 15 minutes. The schedule runs while the workflow is active.

**Cron:** five fields, `minute hour day-of-month month day-of-week`, or six with seconds first. Ranges (`1-5`), lists (`1,15`), steps (`*/15`) and names (`MON-FRI`, `JAN`) are allowed; `L`, `W` and `#` too (last day, nearest weekday, nth weekday of the month). The pattern and the zone are checked when the workflow is saved.

**Time zone:** an IANA name (`America/Chicago`; default `UTC`). Daylight saving is handled: a local time that does not exist on the day clocks spring forward fires when the gap ends; one that happens twice when they fall back fires once.

**Exactly once:** every scheduled time starts one execution, however many `serve` and `worker` processes run against the database (the tick is claimed there), and none starts again after a restart.

**Missed ticks:** ticks missed while no server ran (more than a minute late) are skipped with `catch_up: "none"` (the default); with `catch_up: "last"` the latest of them fires once. Never a burst.

**Output:** `{scheduled_for}`, the scheduled time (ISO-8601, UTC) the execution is for.

**Example**

```json
{
  "id": "every_morning",
  "type": "trigger.schedule",
  "config": {"cron": "0 9 * * MON-FRI", "timezone": "America/Chicago"}
}
```

A later node reads the time as `{{ $trigger.scheduled_for }}`.
"#;

#[async_trait]
impl Node for ScheduleTrigger {
    fn spec(&self) -> NodeSpec {
        NodeSpec {
            description: "Starts the workflow on a cron schedule in a time zone.",
            config_schema: json!({
                "type": "object",
                "properties": {
                    "cron": {
                        "description": "When to fire: `minute hour day-of-month month day-of-week`, or six fields with seconds first.",
                        "type": "string",
                        "minLength": 1,
                    },
                    "timezone": {
                        "description": "The IANA time zone the pattern is read in.",
                        "type": "string",
                        "default": "UTC",
                    },
                    "catch_up": {
                        "description": "Ticks missed while no server ran: `none` skips them, `last` fires the latest once.",
                        "enum": ["none", "last"],
                        "default": "none",
                    },
                },
                "required": ["cron"],
                "additionalProperties": false,
            }),
            is_trigger: true,
            docs: SCHEDULE_DOCS,
            ..NodeSpec::new(Self::KIND, "Schedule", "trigger")
        }
    }

    fn check_config(&self, config: &Value) -> Vec<ConfigIssue> {
        schedule_of(config).err().into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use automatrix_core::NodeOutput;

    use super::*;
    use crate::test_support::run;

    fn schema_accepts(node: &impl Node, config: Value) -> bool {
        jsonschema::validator_for(&node.spec().config_schema)
            .unwrap()
            .is_valid(&config)
    }

    #[tokio::test]
    async fn every_trigger_outputs_the_execution_input_unchanged() {
        let cases: [(&dyn Node, Value, Value); 4] = [
            (
                &ErrorTrigger,
                json!({}),
                json!({"error": {"message": "node `crm` failed: 503"}}),
            ),
            (
                &ManualTrigger,
                json!({}),
                json!({"email": "ann@example.com", "score": 72}),
            ),
            (
                &WebhookTrigger,
                json!({"respond": "on_completion"}),
                json!({
                    "body": {"email": "ann@example.com"},
                    "query": {"source": "website"},
                    "headers": {"content-type": "application/json"},
                    "method": "POST",
                }),
            ),
            (
                &ScheduleTrigger,
                json!({"cron": "0 9 * * *"}),
                json!({"scheduled_for": "2026-11-23T15:00:00Z"}),
            ),
        ];
        for (trigger, config, input) in cases {
            let out = run(trigger, config, input.clone()).await.unwrap();

            assert_eq!(out, NodeOutput::main(input), "{}", trigger.spec().kind);
        }
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

    #[test]
    fn webhook_schema_accepts_the_documented_settings() {
        let full = json!({
            "respond": "on_completion",
            "methods": ["POST", "PUT"],
            "secret": "a-long-random-secret",
            "header": {"name": "X-Dealer-Key", "value": "k1"},
            "rate_limit": {"requests": 100, "per_seconds": 60},
            "timeout_ms": 10_000,
        });

        assert!(WebhookTrigger.spec().is_trigger);
        assert!(schema_accepts(&WebhookTrigger, json!({})));
        assert!(schema_accepts(&WebhookTrigger, json!({"methods": ["GET"]})));
        assert!(schema_accepts(&WebhookTrigger, full));
    }

    #[test]
    fn webhook_schema_rejects_unknown_values_short_secrets_and_half_headers() {
        for bad in [
            json!({"respond": "later"}),
            json!({"methods": ["FETCH"]}),
            json!({"methods": []}),
            json!({"methods": "POST"}),
            json!({"timeout_ms": 0}),
            json!({"timeout_ms": 1.5}),
            json!({"secret": "short"}),
            json!({"header": {"name": "X-Key"}}),
            json!({"header": {"name": "bad name", "value": "v"}}),
            json!({"path": "/leads"}),
            json!({"rate_limit": {"requests": 0, "per_seconds": 1}}),
            json!({"rate_limit": {"requests": 5}}),
        ] {
            assert!(!schema_accepts(&WebhookTrigger, bad.clone()), "{bad}");
        }
    }

    #[test]
    fn schedule_config_is_checked_beyond_its_schema() {
        let trigger = ScheduleTrigger;
        assert!(trigger.spec().is_trigger);
        let good =
            json!({"cron": "0 9 * * MON-FRI", "timezone": "America/Chicago", "catch_up": "last"});
        assert!(schema_accepts(&trigger, good.clone()));
        assert_eq!(trigger.check_config(&good), vec![]);
        for bad in [
            json!({}),
            json!({"cron": ""}),
            json!({"cron": "* * * * *", "catch_up": "all"}),
        ] {
            assert!(!schema_accepts(&trigger, bad.clone()), "{bad}");
        }
        let fields = |config: Value| -> Vec<String> {
            trigger
                .check_config(&config)
                .into_iter()
                .map(|i| i.field)
                .collect()
        };
        assert_eq!(fields(json!({"cron": "0 25 * * *"})), ["cron"]);
        assert_eq!(fields(json!({"cron": "0 9 * *"})), ["cron"]);
        assert_eq!(
            fields(json!({"cron": "0 9 * * *", "timezone": "Mars/Olympus"})),
            ["timezone"]
        );
    }
}
