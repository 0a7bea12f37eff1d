//! Workflow definitions the tests share.

use serde_json::{Value, json};

/// Scores a lead: hot leads get a priority and the customer's email, cold ones a label.
pub fn lead_router() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual", "name": "New lead"},
            {"id": "check", "type": "logic.if", "config": {"condition": "{{ $json.score > 50 }}"}},
            {"id": "hot", "type": "transform.set", "config": {"fields": {"priority": "hot", "email": "{{ $trigger.email }}"}}},
            {"id": "cold", "type": "transform.set", "config": {"fields": {"priority": "cold"}, "keep_input": false}}
        ],
        "edges": [
            {"from": "lead", "to": "check"},
            {"from": "check", "output": "true", "to": "hot"},
            {"from": "check", "output": "false", "to": "cold"}
        ]
    })
}

/// A trigger and one code step.
pub fn code(body: &str) -> Value {
    json!({
        "nodes": [{"id": "start", "type": "trigger.manual"}, {"id": "script", "type": "code.js", "config": {"code": body}}],
        "edges": [{"from": "start", "to": "script"}]
    })
}

/// A trigger and one HTTP call.
pub fn http_call(url: &str) -> Value {
    json!({
        "nodes": [{"id": "start", "type": "trigger.manual"},
                  {"id": "call", "type": "http.request", "config": {"method": "POST", "url": url, "body": {"lead": "{{ $json.name }}"}}}],
        "edges": [{"from": "start", "to": "call"}]
    })
}

/// A webhook-triggered workflow.
pub fn webhook() -> Value {
    json!({
        "nodes": [{"id": "hook", "type": "trigger.webhook", "config": {}}, {"id": "tag", "type": "transform.set", "config": {"fields": {"source": "web"}}}],
        "edges": [{"from": "hook", "to": "tag"}]
    })
}
