//! `GET /metrics`: what a run, a request and an AI call add, in the Prometheus text format;
//! the optional token; the separate listener of `AUTOMATRIX_METRICS_BIND`.

use std::sync::Arc;

use automatrix_api::{ApiConfig, AppState, MetricsToken};
use automatrix_testkit::{Backend, TestApp, both_backends, test_gateway_config};
use reqwest::Method;
use serde_json::json;

/// The text of `/metrics` at `base`, with `token` as the bearer if given.
async fn scrape(app: &TestApp, base: &str, token: Option<&str>) -> (u16, String) {
    let mut req = app.http.get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("scrape");
    let status = res.status().as_u16();
    if status == 200 {
        assert_eq!(
            res.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
    }
    (status, res.text().await.expect("text"))
}

/// The sample lines (no comments) of `text` that start with `prefix`.
fn samples<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

/// Asserts that `text` has the sample line `line` exactly.
#[track_caller]
fn has(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
}

both_backends! {
    async fn metrics_count_requests_runs_steps_and_ai_calls(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "metrics", json!({
            "nodes": [
                {"id": "start", "type": "trigger.manual", "config": {}},
                {"id": "set", "type": "transform.set", "config": {"fields": {"ok": true}}},
                {"id": "ask", "type": "ai.generate", "config": {"prompt": "Is the Civic available?"}}
            ],
            "edges": [{"from": "start", "to": "set"}, {"from": "set", "to": "ask"}]
        })).await;
        let id = wf["id"].as_str().unwrap().to_owned();
        assert_eq!(app.get(&format!("/api/workflows/{id}"), &s.access_token).await.status, 200);
        let run = app.execute_and_wait(&s, &id, json!({})).await;
        assert_eq!(run["status"], "completed", "{run}");
        let ai = app.post("/api/ai/v1/chat/completions", &s.access_token, &json!({
            "model": "default",
            "messages": [{"role": "user", "content": "Is the Civic available?"}]
        })).await;
        assert_eq!(ai.status, 200, "{}", ai.body);
        let missing = format!("/api/no/such/page/{id}");
        assert_eq!(app.request(Method::GET, &missing, None, None).await.status, 404);

        let (status, text) = scrape(&app, &app.base, None).await;
        assert_eq!(status, 200);
        for family in [
            "automatrix_http_requests_total counter",
            "automatrix_http_request_duration_seconds histogram",
            "automatrix_executions_total counter",
            "automatrix_execution_duration_seconds histogram",
            "automatrix_step_duration_seconds histogram",
            "automatrix_queue_depth gauge",
            "automatrix_workers_busy gauge",
            "automatrix_ai_tokens_total counter",
            "automatrix_ai_cost_usd_total counter",
        ] {
            has(&text, &format!("# TYPE {family}"));
        }
        // Routes by template, never by the raw id; unmatched paths under one label.
        assert!(!text.contains(&id), "a raw path leaked into the labels:\n{text}");
        has(&text, r#"automatrix_http_requests_total{method="GET",route="/api/workflows/{id}",status="200"} 1"#);
        has(&text, r#"automatrix_http_requests_total{method="POST",route="/api/workflows/{id}/execute",status="202"} 1"#);
        has(&text, r#"automatrix_http_requests_total{method="GET",route="unmatched",status="404"} 1"#);
        has(&text, r#"automatrix_http_request_duration_seconds_count{route="/api/workflows/{id}"} 1"#);
        has(&text, r#"automatrix_http_request_duration_seconds_bucket{route="/api/workflows/{id}",le="+Inf"} 1"#);
        // One run, completed, with one step of each type (its AI node on the mock).
        assert_eq!(samples(&text, "automatrix_executions_total{"), [r#"automatrix_executions_total{status="completed"} 1"#]);
        has(&text, "automatrix_execution_duration_seconds_count 1");
        has(&text, r#"automatrix_step_duration_seconds_count{node_type="trigger.manual"} 1"#);
        has(&text, r#"automatrix_step_duration_seconds_count{node_type="transform.set"} 1"#);
        has(&text, r#"automatrix_step_duration_seconds_count{node_type="ai.generate"} 1"#);
        has(&text, "automatrix_queue_depth 0");
        has(&text, "automatrix_queue_running 0");
        has(&text, "automatrix_workers_busy 0");
        // The node's call and the proxy's, both accounted to the mock provider.
        let usage = app.get("/api/ai/usage?group_by=model", &s.access_token).await;
        assert_eq!(usage.body["calls"], 2, "{}", usage.body);
        let input = usage.body["input_tokens"].as_u64().unwrap();
        let output = usage.body["output_tokens"].as_u64().unwrap();
        assert!(input > ai.body["usage"]["prompt_tokens"].as_u64().unwrap(), "{}", usage.body);
        has(&text, &format!(r#"automatrix_ai_tokens_total{{provider="mock",kind="input"}} {input}"#));
        has(&text, &format!(r#"automatrix_ai_tokens_total{{provider="mock",kind="output"}} {output}"#));
        assert_eq!(samples(&text, "automatrix_ai_cost_usd_total{").len(), 1, "{text}");

        // The scrape itself is counted by the next one.
        let (_, again) = scrape(&app, &app.base, None).await;
        has(&again, r#"automatrix_http_requests_total{method="GET",route="/metrics",status="200"} 1"#);
        let snapshot = app.engine.metrics_snapshot().await;
        assert_eq!(snapshot.executions.get("completed"), Some(&1));
        assert_eq!((snapshot.queue_depth, snapshot.workers_busy), (Some(0), 0));
        assert_eq!((snapshot.ai_input_tokens, snapshot.ai_output_tokens), (input, output));
    }
}

async fn a_metrics_token_is_required_when_set(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.metrics_token = Some(MetricsToken::new("scrape-secret-1"));
    })
    .await
    else {
        return;
    };
    assert_eq!(scrape(&app, &app.base, None).await.0, 401);
    assert_eq!(
        scrape(&app, &app.base, Some("scrape-secret-2")).await.0,
        401
    );
    let refused = app
        .request(Method::GET, "/metrics", Some("scrape-secret-2"), None)
        .await;
    refused.assert_error(401, "UNAUTHORIZED");
    let (status, text) = scrape(&app, &app.base, Some("scrape-secret-1")).await;
    assert_eq!(status, 200);
    has(
        &text,
        r#"automatrix_http_requests_total{method="GET",route="/metrics",status="401"} 3"#,
    );
    // Health stays public.
    assert_eq!(
        app.request(Method::GET, "/health", None, None).await.status,
        200
    );
    app.stop().await;
}

async fn the_separate_listener_serves_metrics_and_probes_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ai = Arc::new(automatrix_ai::Gateway::new(test_gateway_config()).expect("gateway"));
    let state = AppState::new(app.engine.clone(), ApiConfig::new(app.auth.clone()), ai);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(automatrix_api::serve_probes(listener, state, async move {
        stopped.cancelled().await;
    }));
    let (status, text) = scrape(&app, &base, None).await;
    assert_eq!(status, 200);
    has(&text, "automatrix_workers_busy 0");
    for probe in ["/health", "/health/live", "/health/ready"] {
        let res = app.http.get(format!("{base}{probe}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{probe}");
    }
    let api = app
        .http
        .get(format!("{base}/api/workflows"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "only metrics and probes");
    stop.cancel();
    server.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set_sqlite() {
    a_metrics_token_is_required_when_set(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_metrics_token_is_required_when_set_postgres() {
    a_metrics_token_is_required_when_set(Backend::Postgres).await;
}

#[tokio::test]
async fn the_separate_listener_serves_metrics_and_probes_only_sqlite() {
    the_separate_listener_serves_metrics_and_probes_only(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_separate_listener_serves_metrics_and_probes_only_postgres() {
    the_separate_listener_serves_metrics_and_probes_only(Backend::Postgres).await;
}
