//! `email.send` without a server: config and address checks, the message it builds (headers,
//! parts, envelope, header injection) and the failures it meets before or while connecting.
//! Real SMTP exchanges are tested through the engine, against the testkit's `SmtpSink`.

use automatrix_core::node::ErrorClass;
use serde_json::{Value, json};

use super::message::{self, EmailConfig};
use super::*;
use crate::test_support::{ctx_with_input, run, run_with_credential};

fn config(extra: Value) -> Value {
    let mut c = json!({
        "credential_id": "mail",
        "from": "Sunset Motors <sales@sunset.example>",
        "to": "pat@lead.example",
        "subject": "Your test drive",
        "text": "See you soon."
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn built(extra: Value) -> Result<(String, Vec<String>), String> {
    let config: EmailConfig = serde_json::from_value(config(extra)).unwrap();
    let out = message::build(&config, "<e1.follow_up@automatrix>")?;
    let raw = String::from_utf8(out.message.formatted()).unwrap();
    Ok((raw, out.recipients))
}

/// The header block of a formatted message, one logical (unfolded) header per entry.
fn headers(raw: &str) -> Vec<String> {
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut out: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match out.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => out.push(line.to_owned()),
        }
    }
    out
}

fn header<'a>(headers: &'a [String], name: &str) -> Vec<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    headers
        .iter()
        .filter(|h| h.to_ascii_lowercase().starts_with(&prefix))
        .map(|h| h[prefix.len()..].trim())
        .collect()
}

#[test]
fn text_and_html_make_a_multipart_alternative_message_with_a_stable_message_id() {
    let (raw, recipients) = built(json!({"html": "<p>See you soon.</p>"})).unwrap();
    let h = headers(&raw);

    assert_eq!(header(&h, "Message-ID"), ["<e1.follow_up@automatrix>"]);
    assert_eq!(
        header(&h, "From"),
        ["\"Sunset Motors\" <sales@sunset.example>"]
    );
    assert!(header(&h, "Content-Type")[0].starts_with("multipart/alternative"));
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );
    assert!(raw.contains("See you soon.") && raw.contains("<p>See you soon.</p>"));
    assert_eq!(recipients, ["pat@lead.example"]);
}

#[test]
fn text_or_html_alone_is_a_single_part() {
    let (text, _) = built(json!({})).unwrap();
    assert_eq!(
        header(&headers(&text), "Content-Type"),
        ["text/plain; charset=utf-8"]
    );

    let (html, _) = built(json!({"text": null, "html": "<b>Hi</b>"})).unwrap();
    assert_eq!(
        header(&headers(&html), "Content-Type"),
        ["text/html; charset=utf-8"]
    );

    let neither = built(json!({"text": null})).unwrap_err();
    assert!(neither.contains("`text`, `html`"), "{neither}");
}

#[test]
fn recipients_come_as_lists_or_arrays_and_bcc_stays_out_of_the_headers() {
    let (raw, recipients) = built(json!({
        "to": "pat@lead.example, \"Doe, Jo\" <jo@lead.example>,",
        "cc": ["manager@sunset.example", ""],
        "bcc": "archive@sunset.example, PAT@lead.example",
        "reply_to": "Kim <kim@sunset.example>"
    }))
    .unwrap();
    let h = headers(&raw);

    assert_eq!(
        recipients,
        [
            "pat@lead.example",
            "jo@lead.example",
            "manager@sunset.example",
            "archive@sunset.example"
        ],
        "each address once, bcc included"
    );
    // The name with a comma stays one mailbox (lettre encodes it per RFC 2047).
    assert_eq!(
        header(&h, "To"),
        ["pat@lead.example, =?utf-8?b?RG9lLCBKbw==?= <jo@lead.example>"]
    );
    assert_eq!(header(&h, "Cc"), ["manager@sunset.example"]);
    assert_eq!(header(&h, "Reply-To"), ["Kim <kim@sunset.example>"]);
    assert!(header(&h, "Bcc").is_empty(), "{raw}");
    assert!(!raw.contains("archive@"), "{raw}");
}

#[test]
fn invalid_addresses_fail_naming_their_field() {
    for (field, value) in [
        ("from", json!("not an address")),
        ("to", json!("pat@")),
        ("cc", json!(["ok@lead.example", "two words@lead.example"])),
        ("bcc", json!("@lead.example")),
        ("reply_to", json!("<unbalanced@lead.example")),
    ] {
        let err = built(json!({ field: value })).unwrap_err();
        assert!(err.starts_with(&format!("`{field}`")), "{field}: {err}");
    }
    let nobody = built(json!({"to": " , "})).unwrap_err();
    assert_eq!(nobody, "`to` needs at least one address");
}

#[test]
fn line_breaks_cannot_inject_headers() {
    // Through the subject: neutralised to spaces, so the text stays inside one header.
    let (raw, recipients) = built(json!({
        "subject": "Hello\r\nBcc: thief@evil.example\r\n\r\nfake body"
    }))
    .unwrap();
    let h = headers(&raw);
    assert_eq!(
        header(&h, "Subject"),
        ["Hello Bcc: thief@evil.example fake body"]
    );
    assert!(header(&h, "Bcc").is_empty(), "{raw}");
    assert_eq!(recipients, ["pat@lead.example"]);

    // Through an address field: refused.
    for field in ["from", "to", "cc", "reply_to"] {
        let err =
            built(json!({ field: "pat@lead.example\r\nBcc: thief@evil.example" })).unwrap_err();
        assert!(err.contains("line break"), "{field}: {err}");
    }
    let err = built(json!({"from": "Sales\n <sales@sunset.example>"})).unwrap_err();
    assert!(err.contains("`from`"), "{err}");
}

#[test]
fn check_config_reports_literal_addresses_and_leaves_templates_to_the_run() {
    let issues = EmailSend.check_config(&config(json!({
        "from": "nobody",
        "to": ["pat@lead.example", "broken@"],
        "cc": "{{ $json.cc }}",
        "bcc": "also broken"
    })));
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["from", "to", "bcc"], "{issues:?}");
    assert!(issues[1].issue.contains("broken@"), "{issues:?}");

    assert_eq!(EmailSend.check_config(&config(json!({}))), vec![]);
    let empty = EmailSend.check_config(&config(json!({"to": ""})));
    assert_eq!(empty[0].issue, "`to` needs at least one address");
}

#[test]
fn the_schema_wants_text_or_html_and_the_address_fields() {
    let schema = EmailSend.spec().config_schema;
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&config(json!({}))));
    assert!(validator.is_valid(&config(json!({"to": ["a@b.example", "c@d.example"]}))));
    let mut html_only = config(json!({"html": "<p/>"}));
    html_only.as_object_mut().unwrap().remove("text");
    assert!(validator.is_valid(&html_only));
    let mut neither = config(json!({}));
    neither.as_object_mut().unwrap().remove("text");
    assert!(!validator.is_valid(&neither));
    assert!(!validator.is_valid(&config(json!({"to": 5}))));
    assert!(!validator.is_valid(&config(json!({"priority": "high"}))));
}

#[test]
fn the_message_id_is_the_same_on_every_attempt_of_a_step() {
    let mut ctx = ctx_with_input("follow_up", &Value::Null);
    let first = message_id(&ctx);
    ctx.attempt = 3;
    assert_eq!(message_id(&ctx), first);
    assert_eq!(
        first,
        format!("<{}.follow_up@automatrix>", ctx.execution_id)
    );
}

fn smtp(port: u16, password: &str) -> (&'static str, &'static str, Value) {
    (
        "mail",
        "smtp",
        json!({"host": "127.0.0.1", "port": port, "tls": "none", "username": "bdc", "password": password}),
    )
}

#[tokio::test]
async fn a_closed_port_is_retryable_and_the_error_never_shows_the_password() {
    let port = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    };
    let err = run_with_credential(&EmailSend, config(json!({})), smtp(port, "pw-8c1f"))
        .await
        .unwrap_err();

    assert_eq!(err.class, ErrorClass::Retryable, "{err:?}");
    assert!(
        err.message.contains(&format!("smtp://127.0.0.1:{port}")),
        "{}",
        err.message
    );
    assert!(!err.message.contains("pw-8c1f"));
}

#[tokio::test]
async fn bad_input_fails_before_any_connection() {
    // Port 9 (discard) is never contacted: each of these fails first, fatally.
    let bad_address = run_with_credential(&EmailSend, config(json!({"to": "pat@"})), smtp(9, "pw"))
        .await
        .unwrap_err();
    assert_eq!(bad_address.class, ErrorClass::Fatal);
    assert!(
        bad_address.message.starts_with("email.send: `to`"),
        "{}",
        bad_address.message
    );

    let wrong_kind = run_with_credential(
        &EmailSend,
        config(json!({})),
        ("mail", "http_bearer", json!({"token": "t"})),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong_kind.class, ErrorClass::Fatal);
    assert!(
        wrong_kind.message.contains("`smtp`"),
        "{}",
        wrong_kind.message
    );

    let no_store = run(&EmailSend, config(json!({})), json!({}))
        .await
        .unwrap_err();
    assert!(
        no_store.message.contains("credentials"),
        "{}",
        no_store.message
    );

    let slow = run_with_credential(&EmailSend, config(json!({"timeout_ms": 0})), smtp(9, "pw"))
        .await
        .unwrap_err();
    assert!(slow.message.contains("timeout_ms"), "{}", slow.message);
}

#[test]
fn a_line_keeps_its_text_and_loses_its_breaks() {
    assert_eq!(message::one_line("a\r\n\tb\nc"), "a b c");
    assert_eq!(message::one_line("Grüße, Jürgen"), "Grüße, Jürgen");
}
