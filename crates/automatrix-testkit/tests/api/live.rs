//! Real time over HTTP on both databases: one-use WebSocket tickets, an execution's steps
//! streamed until its final state, a workflow's executions, and notifications (a failure, an
//! approval waiting, a budget alert). Across processes: crates/automatrix/tests/processes.

use automatrix_testkit::{AiStandIn, Reply, Session, TestApp, WsClient, WsEnd, both_backends};
use serde_json::{Value, json};

use crate::ai_proxy::route_to;

fn three_steps() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "tag", "type": "transform.set", "config": {"fields": {"tagged": true}}},
            {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
        ],
        "edges": [{"from": "lead", "to": "tag"}, {"from": "tag", "to": "done"}]
    })
}

fn failing() -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "boom", "type": "code.js", "config": {"code": "throw new Error('no VIN')"}}
        ],
        "edges": [{"from": "lead", "to": "boom"}]
    })
}

async fn workflow(app: &TestApp, s: &Session, definition: Value) -> String {
    let wf = app.create_workflow(s, "Live", definition).await;
    wf["id"].as_str().expect("id").to_owned()
}

/// `(node_id, status)` of the step events among `frames`.
fn steps(frames: &[Value]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|f| f["type"] == "step")
        .map(|f| {
            (
                f["node_id"].as_str().unwrap_or_default().to_owned(),
                f["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn completed_steps(frames: &[Value]) -> Vec<String> {
    steps(frames)
        .into_iter()
        .filter(|(_, s)| s == "completed")
        .map(|(n, _)| n)
        .collect()
}

both_backends! {
    async fn a_ticket_opens_one_socket_and_a_token_opens_none(app) {
        let s = app.signup().await;
        let ticket = app.ws_ticket(&s.access_token).await;
        assert!(ticket.starts_with("wst_"), "{ticket}");
        let url = app.ws_url("/ws/notifications", &ticket);
        let first = WsClient::connect(&url).await.expect("the ticket opens a socket");
        let again = WsClient::connect(&url).await.err().expect("a ticket works once");
        assert_eq!((again.status, again.body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")));
        for url in [
            app.url("/ws/notifications").replacen("http", "ws", 1),
            app.ws_url("/ws/notifications", "wst_unknown"),
            app.ws_url("/ws/notifications", &s.access_token),
        ] {
            let refused = WsClient::connect(&url).await.err().expect("refused");
            assert_eq!(refused.status, 401, "{url}: {:?}", refused.body);
        }
        // A plain GET is not a WebSocket.
        let ticket = app.ws_ticket(&s.access_token).await;
        let plain = app.get(&format!("/ws/notifications?ticket={ticket}"), "").await;
        plain.assert_error(400, "BAD_REQUEST");
        // Without a bearer, no ticket.
        app.post("/api/auth/ws-ticket", "", &json!({})).await.assert_error(401, "UNAUTHORIZED");
        first.close().await;
    }

    async fn an_execution_streams_its_steps_and_closes_after_its_final_state(app) {
        let s = app.signup().await;
        let wf = workflow(&app, &s, three_steps()).await;
        let id = app.start_execution(&s, &wf, json!({"name": "Pat"})).await;
        let mut socket = app.ws(&format!("/ws/executions/{id}"), &s.access_token).await;
        app.run_jobs().await;
        let (before, last) = socket.until(|f| f["type"] == "execution" && f["status"] == "completed").await;
        assert_eq!(last["execution_id"], id.as_str());
        assert!(last["duration_ms"].as_i64().is_some(), "{last}");
        assert_eq!(completed_steps(&before), ["lead", "tag", "done"]);
        let tag = before.iter().find(|f| f["node_id"] == "tag" && f["status"] == "completed").expect("tag");
        assert_eq!(tag["execution_id"], id.as_str());
        assert_eq!(tag["attempt"], 1);
        assert!(tag["duration_ms"].as_i64().is_some() && tag["at"].is_string(), "{tag}");
        assert!(before.iter().any(|f| f["type"] == "execution" && f["status"] == "running"));
        assert_eq!(socket.next().await, Err(WsEnd::Closed(1000)));
    }

    async fn a_finished_execution_sends_its_record_then_closes(app) {
        let s = app.signup().await;
        let wf = workflow(&app, &s, three_steps()).await;
        let id = app.start_execution(&s, &wf, json!({})).await;
        app.run_jobs().await;
        let mut socket = app.ws(&format!("/ws/executions/{id}"), &s.access_token).await;
        let (before, last) = socket.until(|f| f["type"] == "execution").await;
        assert_eq!(last["status"], "completed");
        assert_eq!(completed_steps(&before), ["lead", "tag", "done"]);
        assert_eq!(socket.next().await, Err(WsEnd::Closed(1000)));
    }

    async fn another_organizations_execution_cannot_be_watched(app) {
        let owner = app.signup().await;
        let stranger = app.signup().await;
        let wf = workflow(&app, &owner, three_steps()).await;
        let id = app.start_execution(&owner, &wf, json!({})).await;
        let ticket = app.ws_ticket(&stranger.access_token).await;
        let refused = WsClient::connect(&app.ws_url(&format!("/ws/executions/{id}"), &ticket)).await.err().expect("refused");
        assert_eq!(refused.status, 404);
        let ticket = app.ws_ticket(&stranger.access_token).await;
        let refused = WsClient::connect(&app.ws_url(&format!("/ws/workflows/{wf}/status"), &ticket)).await.err().expect("refused");
        assert_eq!(refused.status, 404);
        // A viewer of the organization may watch.
        let viewer = app.member_of(&owner, "viewer").await;
        let ticket = {
            let res = app.request_in(owner.organization_id, reqwest::Method::POST, "/api/auth/ws-ticket", &viewer.access_token, Some(&json!({}))).await;
            assert_eq!(res.status, 200, "{}", res.body);
            res.body["ticket"].as_str().unwrap().to_owned()
        };
        let socket = WsClient::connect(&app.ws_url(&format!("/ws/executions/{id}"), &ticket)).await.expect("a viewer watches");
        socket.close().await;
    }

    async fn a_workflow_socket_follows_its_executions(app) {
        let s = app.signup().await;
        let wf = workflow(&app, &s, three_steps()).await;
        let other = workflow(&app, &s, three_steps()).await;
        let mut socket = app.ws(&format!("/ws/workflows/{wf}/status"), &s.access_token).await;
        let a = app.start_execution(&s, &wf, json!({})).await;
        app.start_execution(&s, &other, json!({})).await;
        let b = app.start_execution(&s, &wf, json!({})).await;
        app.run_jobs().await;
        let mut finished = Vec::new();
        let mut seen = Vec::new();
        while finished.len() < 2 {
            let f = socket.next_json().await;
            assert_eq!(f["type"], "execution");
            assert_eq!(f["workflow_id"], wf.as_str(), "only this workflow's executions");
            seen.push((f["execution_id"].as_str().unwrap().to_owned(), f["status"].as_str().unwrap().to_owned()));
            if f["status"] == "completed" {
                finished.push(f["execution_id"].as_str().unwrap().to_owned());
            }
        }
        for id in [&a, &b] {
            let of: Vec<&str> = seen.iter().filter(|(e, _)| e == id).map(|(_, st)| st.as_str()).collect();
            assert_eq!(of, ["pending", "running", "completed"], "{id}");
        }
        socket.close().await;
    }

    async fn notifications_tell_of_failures_approvals_and_budgets(app) {
        let s = app.signup().await;
        let mut socket = app.ws("/ws/notifications", &s.access_token).await;

        let wf = workflow(&app, &s, failing()).await;
        let failed = app.start_execution(&s, &wf, json!({})).await;
        app.run_jobs().await;
        let n = socket.next_json().await;
        assert_eq!((n["type"].as_str(), n["kind"].as_str()), (Some("notification"), Some("execution_failed")), "{n}");
        assert_eq!(n["execution_id"], failed.as_str());
        assert!(n["message"].as_str().unwrap().contains("no VIN"), "{n}");

        let approval = json!({
            "nodes": [
                {"id": "deal", "type": "trigger.manual"},
                {"id": "manager", "type": "flow.approval", "config": {"message": "Approve?"}}
            ],
            "edges": [{"from": "deal", "to": "manager"}]
        });
        let wf = workflow(&app, &s, approval).await;
        let waiting = app.start_execution(&s, &wf, json!({})).await;
        app.run_jobs().await;
        let n = socket.next_json().await;
        assert_eq!(n["kind"], "approval_waiting", "{n}");
        assert_eq!((n["execution_id"].as_str(), n["node_id"].as_str()), (Some(waiting.as_str()), Some("manager")));
        assert_eq!(n["data"]["decide"], format!("/api/executions/{waiting}/steps/manager/approve"));

        // 0.004 USD a call against a budget of 0.005 alerting at half: the first call alerts,
        // the second uses it up, a third is refused and says nothing more.
        let stand_in = AiStandIn::openai().await;
        stand_in.always(Reply::Text { text: "ok".into(), input_tokens: 2_000, output_tokens: 1_000 });
        route_to(&app, &s, "bdc", &[(&stand_in, "openai")]).await;
        let res = app.put("/api/ai/budget", &s.access_token, &json!({"monthly_usd": 0.005, "alert_at": 0.5})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let ask = json!({"model": "bdc", "messages": [{"role": "user", "content": "Civic?"}]});
        for (want, level) in [(200, Some("alert")), (200, Some("exhausted")), (402, None)] {
            let res = app.post("/api/ai/v1/chat/completions", &s.access_token, &ask).await;
            assert_eq!(res.status, want, "{}", res.body);
            if let Some(level) = level {
                let n = socket.next_json().await;
                assert_eq!((n["kind"].as_str(), n["data"]["level"].as_str()), (Some("budget_alert"), Some(level)), "{n}");
            }
        }
        // Another organization hears none of it.
        let stranger = app.signup().await;
        let mut theirs = app.ws("/ws/notifications", &stranger.access_token).await;
        let wf = workflow(&app, &stranger, failing()).await;
        app.start_execution(&stranger, &wf, json!({})).await;
        app.run_jobs().await;
        let n = theirs.next_json().await;
        assert_eq!(n["kind"], "execution_failed");
        let wf = workflow(&app, &s, failing()).await;
        let mine = app.start_execution(&s, &wf, json!({})).await;
        app.run_jobs().await;
        let n = socket.next_json().await;
        assert_eq!(n["execution_id"], mine.as_str(), "the stranger's failure did not reach this socket");
        socket.close().await;
        theirs.close().await;
    }

    async fn the_metrics_socket_pushes_the_summary_as_it_changes(app) {
        let s = app.signup().await;
        let wf = workflow(&app, &s, three_steps()).await;
        app.execute_and_wait(&s, &wf, json!({})).await;
        let mut socket = app.ws("/ws/metrics?interval=1", &s.access_token).await;
        let first = socket.next_json().await;
        assert_eq!(first["type"], "metrics", "{first}");
        assert_eq!((first["summary"]["total"].as_i64(), first["summary"]["by_status"]["completed"].as_i64()), (Some(1), Some(1)), "{first}");
        assert_eq!(first["summary"]["bucket"], "hour");
        app.execute_and_wait(&s, &wf, json!({})).await;
        let (_, later) = socket.until(|f| f["summary"]["total"] == 2).await;
        assert_eq!(later["summary"]["success_rate"], 1.0, "{later}");
        socket.close().await;

        let ticket = app.ws_ticket(&s.access_token).await;
        let refused = WsClient::connect(&app.ws_url("/ws/metrics?interval=0", &ticket)).await.err().expect("refused");
        assert_eq!((refused.status, refused.body["error"]["code"].as_str()), (422, Some("VALIDATION_ERROR")), "{:?}", refused.body);
        let stranger = app.signup().await;
        let theirs = workflow(&app, &stranger, three_steps()).await;
        let ticket = app.ws_ticket(&s.access_token).await;
        let refused = WsClient::connect(&app.ws_url(&format!("/ws/metrics?workflow_id={theirs}"), &ticket)).await.err().expect("refused");
        assert_eq!(refused.status, 404);
    }
}
