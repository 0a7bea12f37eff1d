//! Dry runs of every built-in node type with side effects: each one, run with
//! `NodeContext::dry_run` against a listening port, completes with a preview of what it would
//! have done, shows no secret, and neither connects nor writes. A new node type with side
//! effects fails [`every_node_type_with_side_effects_has_a_dry_run`] until it gets a case here
//! and a `**Dry run:**` paragraph in its docs.

use std::net::TcpListener;
use std::sync::Arc;

use automatrix_core::{KvOp, NodeContext, NodeRegistry, NodeServices};
use serde_json::{Value, json};

use crate::test_support::FakeServices;
use crate::{HttpPolicy, NodesConfig, register_builtin};

/// In every credential below; must never show in a preview.
const SECRET: &str = "s3cret-Zq9";
const CHILD: &str = "0193a5c2-7d1e-7c3a-9b2f-5e8d4c1a2b3c";

/// A node type's dry-run case: its config and the credential it reads (`id` "cred").
struct Case {
    kind: &'static str,
    config: Value,
    credential: Option<(&'static str, Value)>,
}

/// One case per node type with side effects, each aimed at `base` (`http://127.0.0.1:port`).
fn cases(base: &str, port: u16) -> Vec<Case> {
    vec![
        Case {
            kind: "email.send",
            config: json!({"credential_id": "cred", "from": "Sales <sales@dealer.example>", "to": "jo@lead.example", "bcc": "log@dealer.example", "subject": "Your test drive", "text": "See you at 10."}),
            credential: Some((
                "smtp",
                json!({"host": "127.0.0.1", "port": port, "tls": "none", "username": "sales", "password": SECRET}),
            )),
        },
        Case {
            kind: "sms.send",
            config: json!({"credential_id": "cred", "to": "(555) 987-6543", "body": "Your car is ready."}),
            credential: Some((
                "twilio",
                json!({"account_sid": "AC1", "auth_token": SECRET, "base_url": base, "from": "+15550100000"}),
            )),
        },
        Case {
            kind: "chat.post",
            config: json!({"credential_id": "cred", "title": "Hot lead", "text": "Call Jo now."}),
            credential: Some((
                "chat_webhook",
                json!({"url": format!("{base}/services/{SECRET}")}),
            )),
        },
        Case {
            kind: "http.request",
            config: json!({"method": "POST", "url": format!("{base}/leads"), "credential_id": "cred", "headers": {"X-Token": SECRET}, "body": {"email": "jo@lead.example"}}),
            credential: Some(("http_bearer", json!({"token": SECRET}))),
        },
        Case {
            kind: "db.query",
            config: json!({"credential_id": "cred", "query": "insert into leads (email) values ($1)", "params": ["jo@lead.example"], "allow_writes": true}),
            credential: Some((
                "postgres",
                json!({"url": format!("postgres://app:{SECRET}@127.0.0.1:{port}/dms")}),
            )),
        },
        Case {
            kind: "data.kv",
            config: json!({"operation": "set", "key": "lead:1", "value": {"seen": true}, "ttl_seconds": 60}),
            credential: None,
        },
        Case {
            kind: "flow.subworkflow",
            config: json!({"workflow_id": CHILD}),
            credential: None,
        },
    ]
}

fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    let config = NodesConfig {
        http: HttpPolicy::allow_all(),
    };
    register_builtin(&mut registry, &config);
    registry
}

async fn dry_run(registry: &NodeRegistry, case: &Case, services: &Arc<FakeServices>) -> Value {
    if let Some((kind, data)) = &case.credential {
        services.add_credential("cred", kind, data.clone());
    }
    let ctx = NodeContext {
        dry_run: true,
        ..services.ctx("step", &json!({"lead": 1}))
    };
    let node = &registry.get(case.kind).expect("registered").node;
    node.execute(&ctx, case.config.clone(), json!({"lead": 1}))
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.kind))
        .data
}

#[test]
fn every_node_type_with_side_effects_has_a_dry_run() {
    let registry = registry();
    let covered: Vec<&str> = cases("http://127.0.0.1:1", 1)
        .iter()
        .map(|c| c.kind)
        .collect();

    let missing: Vec<&str> = registry
        .specs()
        .filter(|s| s.side_effects)
        .filter(|s| !(covered.contains(&s.kind) && s.docs.contains("**Dry run:**")))
        .map(|s| s.kind)
        .collect();

    assert!(
        missing.is_empty(),
        "node types with side effects need a dry-run case here and a `**Dry run:**` \
         paragraph in their docs: {missing:?}"
    );
}

#[tokio::test]
async fn in_a_dry_run_each_node_previews_without_connecting_writing_or_showing_secrets() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let registry = registry();

    for case in cases(&base, port) {
        let services = FakeServices::new(Ok(json!({"child": "output"})));
        let out = dry_run(&registry, &case, &services).await;

        let kind = case.kind;
        if kind == "flow.subworkflow" {
            // The child runs, as a dry run of its own.
            let runs = services.sub_runs.lock().unwrap();
            assert!(runs.len() == 1 && runs[0].dry_run, "{kind}: {runs:?}");
            assert_eq!(out, json!({"child": "output"}));
            continue;
        }
        assert_eq!(out["dry_run"], true, "{kind}: {out}");
        assert!(out["would_send"].is_object(), "{kind}: {out}");
        assert!(
            !out.to_string().contains(SECRET),
            "{kind} shows a secret: {out}"
        );
        // A connection the node made is in the listener's backlog by the time it returned.
        assert!(
            listener
                .accept()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
            "{kind} connected"
        );
        let stored = services
            .kv(KvOp::Get {
                key: "lead:1".into(),
            })
            .await
            .unwrap();
        assert!(!stored.hit, "{kind} wrote to the key-value store");
    }
}

#[tokio::test]
async fn previews_show_exactly_what_would_be_sent() {
    let base = "http://127.0.0.1:1";
    let registry = registry();
    let preview = |kind: &'static str| {
        let case = cases(base, 1).into_iter().find(|c| c.kind == kind).unwrap();
        let registry = &registry;
        async move {
            let services = FakeServices::new(Ok(Value::Null));
            dry_run(registry, &case, &services).await
        }
    };

    let email = preview("email.send").await;
    assert_eq!(email["would_send"]["server"], "smtp://127.0.0.1:1");
    assert_eq!(email["would_send"]["from"], "Sales <sales@dealer.example>");
    assert_eq!(email["would_send"]["to"], json!(["jo@lead.example"]));
    assert_eq!(email["would_send"]["bcc"], json!(["log@dealer.example"]));
    assert_eq!(email["would_send"]["subject"], "Your test drive");
    assert_eq!(email["would_send"]["text"], "See you at 10.");

    let sms = preview("sms.send").await["would_send"].clone();
    assert_eq!(sms["method"], "POST");
    assert_eq!(
        sms["url"],
        format!("{base}/2010-04-01/Accounts/AC1/Messages.json")
    );
    assert_eq!(sms["headers"]["authorization"], "[redacted]");
    assert_eq!(
        sms["body"],
        "To=%2B15559876543&From=%2B15550100000&Body=Your+car+is+ready."
    );

    let chat = preview("chat.post").await["would_send"].clone();
    assert_eq!(chat["url"], format!("{base}[redacted]"));
    assert_eq!(chat["body"], json!({"text": "*Hot lead*\nCall Jo now."}));

    let http = preview("http.request").await["would_send"].clone();
    assert_eq!(
        (&http["method"], &http["url"]),
        (&json!("POST"), &json!(format!("{base}/leads")))
    );
    assert_eq!(http["headers"]["authorization"], "[redacted]");
    assert_eq!(http["headers"]["x-token"], "[redacted]");
    assert_eq!(http["headers"]["content-type"], "application/json");
    assert_eq!(http["body"], json!({"email": "jo@lead.example"}));

    let db = preview("db.query").await["would_send"].clone();
    assert_eq!(db["database"], "postgres://app@127.0.0.1:1/dms");
    assert_eq!(db["query"], "insert into leads (email) values ($1)");
    assert_eq!(db["params"], json!(["jo@lead.example"]));

    let kv = preview("data.kv").await;
    assert_eq!(kv["would_send"]["operation"], "set");
    assert_eq!(kv["would_send"]["value"], json!({"seen": true}));
    assert!(kv["would_send"]["expires_at"].is_string(), "{kv}");
}

#[tokio::test]
async fn in_a_dry_run_reads_still_run() {
    let registry = registry();
    let services = FakeServices::new(Ok(Value::Null));
    services
        .kv(KvOp::Set {
            key: "lead:1".into(),
            value: json!("seen"),
            expires_at: None,
            only_if_absent: false,
        })
        .await
        .unwrap();
    let get = Case {
        kind: "data.kv",
        config: json!({"operation": "get", "key": "lead:1"}),
        credential: None,
    };

    let out = dry_run(&registry, &get, &services).await;

    assert_eq!(
        out,
        json!({"key": "lead:1", "value": "seen", "found": true})
    );
}
