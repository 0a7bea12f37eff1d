//! `email.send` through the engine against a real SMTP exchange with the testkit's sink: the
//! message as received, logins from the credential, and how refusals and outages fail a step.

use automatrix_testkit::{Session, SmtpSink, TestApp, both_backends};
use serde_json::{Value, json};

const PASSWORD: &str = "smtp-pw-4f9a2c";

/// A manual trigger then `email.send` with `config` (plus `retry`, when given).
async fn mail_workflow(app: &TestApp, s: &Session, config: Value, retry: Option<Value>) -> String {
    let mut send = json!({"id": "follow_up", "type": "email.send", "config": config});
    if let Some(retry) = retry {
        send["retry"] = retry;
    }
    let wf = app
        .create_workflow(
            s,
            "Lead follow-up",
            json!({
                "nodes": [{"id": "lead", "type": "trigger.manual"}, send],
                "edges": [{"from": "lead", "to": "follow_up"}]
            }),
        )
        .await;
    wf["id"].as_str().unwrap().to_owned()
}

fn simple(credential_id: &str, to: &str) -> Value {
    json!({"credential_id": credential_id, "from": "sales@sunset.example", "to": to,
           "subject": "Hello", "text": "Hi"})
}

/// The step log rows of `follow_up`, one per attempt.
async fn attempts(app: &TestApp, s: &Session, exec: &Value) -> Vec<Value> {
    let logs = app
        .get(
            &format!("/api/executions/{}/logs", exec["id"].as_str().unwrap()),
            &s.access_token,
        )
        .await;
    assert!(
        !logs.body.to_string().contains(PASSWORD),
        "the password is in the step logs"
    );
    logs.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["node_id"] == "follow_up")
        .cloned()
        .collect()
}

both_backends! {
    async fn a_lead_follow_up_sends_a_multipart_email_with_cc_to_the_server(app) {
        let sink = SmtpSink::start().await;
        let s = app.signup().await;
        let mail = app.create_credential(&s, "Relay", "smtp", sink.credential(None)).await;
        let wf = mail_workflow(&app, &s, json!({
            "credential_id": mail,
            "from": "Sunset Motors <sales@sunset.example>",
            "to": "{{ $json.first_name }} <{{ $json.email }}>",
            "cc": ["manager@sunset.example", "{{ $json.salesperson }}"],
            "bcc": "crm-archive@sunset.example",
            "subject": "Your {{ $json.vehicle }} at Sunset Motors",
            "text": "Hi {{ $json.first_name }}, the {{ $json.vehicle }} is ready.\n.Dotted line.",
            "html": "<p>Hi {{ $json.first_name }}, the <b>{{ $json.vehicle }}</b> is ready.</p>"
        }), None).await;

        let exec = app.execute_and_wait(&s, &wf, json!({
            "first_name": "Pat", "email": "pat@lead.example", "vehicle": "2024 Civic", "salesperson": "kim@sunset.example"
        })).await;

        assert_eq!(exec["status"], "completed", "{exec}");
        let message_id = format!("<{}.follow_up@automatrix>", exec["id"].as_str().unwrap());
        let out = &exec["output_data"];
        assert_eq!(out["message_id"], message_id.as_str());
        assert_eq!(out["accepted"], json!(["pat@lead.example", "manager@sunset.example", "kim@sunset.example", "crm-archive@sunset.example"]));
        assert!(out["response"].as_str().unwrap().starts_with("250 2.0.0 Ok"), "{out}");

        let got = sink.messages();
        assert_eq!(got.len(), 1);
        let m = &got[0];
        assert_eq!(m.from, "sales@sunset.example");
        assert_eq!(m.recipients, out["accepted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>());
        assert_eq!(m.header("Message-ID"), Some(message_id));
        assert_eq!(m.header("From").as_deref(), Some("\"Sunset Motors\" <sales@sunset.example>"));
        assert_eq!(m.header("To").as_deref(), Some("Pat <pat@lead.example>"));
        assert_eq!(m.header("Cc").as_deref(), Some("manager@sunset.example, kim@sunset.example"));
        assert_eq!(m.header("Bcc"), None);
        assert_eq!(m.header("Subject").as_deref(), Some("Your 2024 Civic at Sunset Motors"));
        assert!(m.header("Content-Type").unwrap().starts_with("multipart/alternative"), "{}", m.data);
        assert!(m.data.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHi Pat, the 2024 Civic is ready.\r\n.Dotted line."), "{}", m.data);
        assert!(m.data.contains("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n<p>Hi Pat, the <b>2024 Civic</b> is ready.</p>"), "{}", m.data);
    }

    async fn lead_data_cannot_add_headers_or_recipients(app) {
        let sink = SmtpSink::start().await;
        let s = app.signup().await;
        let mail = app.create_credential(&s, "Relay", "smtp", sink.credential(None)).await;
        let mut config = simple(&mail, "pat@lead.example");
        config["subject"] = json!("About {{ $json.vehicle }}");
        let wf = mail_workflow(&app, &s, config, None).await;

        let exec = app.execute_and_wait(&s, &wf, json!({"vehicle": "Civic\r\nBcc: thief@evil.example\r\nX-Spam: yes"})).await;

        assert_eq!(exec["status"], "completed", "{exec}");
        let m = &sink.messages()[0];
        assert_eq!(m.recipients, ["pat@lead.example"]);
        assert_eq!(m.header("Subject").as_deref(), Some("About Civic Bcc: thief@evil.example X-Spam: yes"));
        assert_eq!(m.header("X-Spam"), None);

        // In an address, a line break is refused.
        let wf = mail_workflow(&app, &s, simple(&mail, "{{ $json.email }}"), None).await;
        let exec = app.execute_and_wait(&s, &wf, json!({"email": "pat@lead.example\nBcc: thief@evil.example"})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("`to` holds a line break"), "{exec}");
        assert_eq!(sink.messages().len(), 1, "nothing more was sent");
    }

    async fn the_credential_logs_in_and_a_wrong_password_fails_without_showing_it(app) {
        let sink = SmtpSink::builder().login("bdc@sunset.example", PASSWORD).start().await;
        let s = app.signup().await;
        let good = app.create_credential(&s, "Relay", "smtp", sink.credential(Some(("bdc@sunset.example", PASSWORD)))).await;
        let wf = mail_workflow(&app, &s, simple(&good, "pat@lead.example"), None).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;
        assert_eq!(exec["status"], "completed", "{exec}");
        assert_eq!(sink.messages()[0].user.as_deref(), Some("bdc@sunset.example"));

        let wrong = format!("{PASSWORD}-old");
        let bad = app.create_credential(&s, "Old relay", "smtp", sink.credential(Some(("bdc@sunset.example", &wrong)))).await;
        let wf = mail_workflow(&app, &s, simple(&bad, "pat@lead.example"),
                               Some(json!({"max_attempts": 3, "initial_delay_ms": 10}))).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;

        assert_eq!(exec["status"], "failed");
        let error = exec["error_message"].as_str().unwrap();
        assert!(error.contains("535"), "{error}");
        assert!(!exec.to_string().contains(PASSWORD), "{exec}");
        assert_eq!(attempts(&app, &s, &exec).await.len(), 1, "a refused login is not retried");
        assert_eq!(sink.failed_logins(), 1);
        assert_eq!(sink.messages().len(), 1);
    }

    async fn a_refused_recipient_fails_the_step_at_once_and_nobody_gets_the_message(app) {
        let sink = SmtpSink::builder().reject_recipient("gone@lead.example").start().await;
        let s = app.signup().await;
        let mail = app.create_credential(&s, "Relay", "smtp", sink.credential(None)).await;
        let wf = mail_workflow(&app, &s, simple(&mail, "pat@lead.example, gone@lead.example"),
                               Some(json!({"max_attempts": 3, "initial_delay_ms": 10}))).await;

        let exec = app.execute_and_wait(&s, &wf, json!({})).await;

        assert_eq!(exec["status"], "failed");
        let error = exec["error_message"].as_str().unwrap();
        assert!(error.contains("550") && error.contains("gone@lead.example"), "{error}");
        let rows = attempts(&app, &s, &exec).await;
        assert_eq!(rows.len(), 1, "fatal: one attempt");
        assert_eq!(rows[0]["status"], "failed");
        assert!(sink.messages().is_empty());
    }

    async fn a_closed_port_or_a_deferred_recipient_is_retried(app) {
        let closed = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let s = app.signup().await;
        let down = app.create_credential(&s, "Down", "smtp", json!({"host": "127.0.0.1", "port": closed, "tls": "none",
                                                                  "username": "bdc", "password": PASSWORD})).await;
        let retry = json!({"max_attempts": 2, "backoff": "fixed", "initial_delay_ms": 10});
        let wf = mail_workflow(&app, &s, simple(&down, "pat@lead.example"), Some(retry.clone())).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains(&format!("smtp://127.0.0.1:{closed}")), "{exec}");
        let rows = attempts(&app, &s, &exec).await;
        let tries: Vec<i64> = rows.iter().map(|r| r["attempt"].as_i64().unwrap()).collect();
        assert_eq!(tries, [1, 2], "retryable: every attempt made");

        let sink = SmtpSink::builder().defer_recipient("busy@lead.example").start().await;
        let mail = app.create_credential(&s, "Relay", "smtp", sink.credential(None)).await;
        let wf = mail_workflow(&app, &s, simple(&mail, "busy@lead.example"), Some(retry)).await;
        let exec = app.execute_and_wait(&s, &wf, json!({})).await;
        assert_eq!(exec["status"], "failed");
        assert!(exec["error_message"].as_str().unwrap().contains("450"), "{exec}");
        assert_eq!(attempts(&app, &s, &exec).await.len(), 2);
        assert!(sink.messages().is_empty());
    }

    async fn a_literal_bad_address_is_refused_when_the_workflow_is_saved(app) {
        let s = app.signup().await;
        let res = app.post("/api/workflows", &s.access_token, &json!({"name": "Typo", "definition": {
            "nodes": [{"id": "lead", "type": "trigger.manual"},
                      {"id": "follow_up", "type": "email.send", "config": {
                          "credential_id": "c", "from": "sales@sunset.example", "to": "pat@", "subject": "Hi", "text": "Hi"}}],
            "edges": [{"from": "lead", "to": "follow_up"}]
        }})).await;
        assert_eq!(res.status, 422, "{}", res.body);
        let details = res.body["error"]["details"].to_string();
        assert!(details.contains("nodes[1].config.to") && details.contains("pat@"), "{details}");
    }
}
