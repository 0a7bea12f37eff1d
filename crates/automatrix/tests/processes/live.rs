//! Live events across processes on one PostgreSQL database: a browser's sockets on one API
//! process see an execution queued through another API process and run by a `worker` process,
//! step by step, and its failure as a notification; a ticket issued by one API process opens a
//! socket on another.

use automatrix_testkit::{WsClient, WsEnd};
use serde_json::{Value, json};

use crate::helpers::Cluster;

fn lead_flow(code: &str) -> Value {
    json!({
        "nodes": [
            {"id": "lead", "type": "trigger.manual"},
            {"id": "score", "type": "code.js", "config": {"code": code}},
            {"id": "done", "type": "transform.set", "config": {"fields": {"done": true}}}
        ],
        "edges": [{"from": "lead", "to": "score"}, {"from": "score", "to": "done"}]
    })
}

/// A ticket from the current API process, for a socket at `path` of the API at `base`.
async fn socket(c: &Cluster, base: &str, path: &str) -> WsClient {
    let (status, body) = c
        .call(reqwest::Method::POST, "/api/auth/ws-ticket", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let ticket = body["ticket"].as_str().expect("a ticket");
    let url = format!("{}{path}?ticket={ticket}", base.replacen("http", "ws", 1));
    WsClient::connect(&url).await.expect("the socket opens")
}

#[tokio::test]
async fn a_socket_on_one_api_process_sees_steps_run_by_a_worker_process() {
    let Some(mut c) = Cluster::postgres().await else {
        return;
    };
    c.start_serve("api-1", 0, &[]).await;
    let watched = c.url("");
    c.start_serve("api-2", 0, &[]).await;
    c.start_worker("worker", 2, &[]).await;
    c.sign_up().await;
    let ok = c
        .create_workflow(lead_flow("return {...$json, score: 80};"))
        .await;
    let bad = c
        .create_workflow(lead_flow("throw new Error('no VIN on the lead');"))
        .await;

    let mut status = socket(&c, &watched, &format!("/ws/workflows/{ok}/status")).await;
    let mut notices = socket(&c, &watched, "/ws/notifications").await;
    // Queued through api-2, run by the worker: api-1 hears both.
    let id = c.execute(&ok, json!({"name": "Pat"})).await;
    let mut steps = socket(&c, &watched, &format!("/ws/executions/{id}")).await;
    let (before, last) = steps
        .until(|f| f["type"] == "execution" && f["status"] == "completed")
        .await;
    let completed: Vec<&str> = before
        .iter()
        .filter(|f| f["type"] == "step" && f["status"] == "completed")
        .filter_map(|f| f["node_id"].as_str())
        .collect();
    assert_eq!(completed, ["lead", "score", "done"]);
    assert_eq!(last["execution_id"], id.as_str());
    assert_eq!(steps.next().await, Err(WsEnd::Closed(1000)));

    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("completed") {
        let f = status.next_json().await;
        assert_eq!(f["execution_id"], id.as_str(), "{f}");
        seen.push(f["status"].as_str().unwrap_or_default().to_owned());
    }
    // Never out of order; the creation's `pending`, announced by api-2, may reach api-1 after
    // the worker's `running` (both are sent off the request's path), and is then dropped.
    assert!(
        seen == ["pending", "running", "completed"] || seen == ["running", "completed"],
        "{seen:?}"
    );

    let failed = c.execute(&bad, json!({})).await;
    let n = notices.next_json().await;
    assert_eq!(
        (n["kind"].as_str(), n["execution_id"].as_str()),
        (Some("execution_failed"), Some(failed.as_str())),
        "{n}"
    );
    assert!(
        n["message"].as_str().unwrap_or_default().contains("no VIN"),
        "{n}"
    );
    status.close().await;
    notices.close().await;
}
