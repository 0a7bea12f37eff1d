//! Health probes.

use std::time::{Duration, Instant};

use automatrix_testkit::{Backend, PrivateCluster, TestApp, both_backends};
use reqwest::Method;
use serde_json::json;

both_backends! {
    async fn the_probes_report_a_healthy_service(app) {
        let health = app.request(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, 200);
        assert_eq!(health.body["status"], "ok");
        assert_eq!(health.body["database_ok"], true);
        assert_eq!(health.body["queue"], json!({"due": 0, "running": 0}));
        let expected = if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(health.body["database"], expected);
        assert_eq!(app.request(Method::GET, "/health/live", None, None).await.status, 200);
        assert_eq!(app.request(Method::GET, "/health/ready", None, None).await.status, 200);
    }

    async fn the_summary_counts_the_queued_executions(app) {
        let s = app.signup().await;
        let wf = app.create_workflow(&s, "queued", json!({
            "nodes": [{"id": "start", "type": "trigger.manual", "config": {}}],
            "edges": []
        })).await;
        let execute = format!("/api/workflows/{}/execute", wf["id"].as_str().unwrap());
        for _ in 0..2 {
            assert_eq!(app.post(&execute, &s.access_token, &json!({})).await.status, 202);
        }
        let health = app.request(Method::GET, "/health", None, None).await;
        assert_eq!(health.body["queue"], json!({"due": 2, "running": 0}), "{}", health.body);
        app.run_jobs().await;
        let health = app.request(Method::GET, "/health", None, None).await;
        assert_eq!(health.body["queue"], json!({"due": 0, "running": 0}));
    }
}

/// Asks `/health/ready` until it answers 200; panics after 30 s.
async fn ready_again(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = app.request(Method::GET, "/health/ready", None, None).await;
        if ready.status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready 30 s after the database came back: {}",
            ready.body
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// On a PostgreSQL server of its own, since it stops it: readiness is 503 while the database
/// is down and 200 again once it is back, with the same server process.
#[tokio::test]
async fn readiness_follows_the_database_down_and_back_up() {
    let Some(cluster) = PrivateCluster::start().await else {
        return;
    };
    let app = TestApp::spawn_on_postgres(&cluster.url()).await;
    assert_eq!(
        app.request(Method::GET, "/health/ready", None, None)
            .await
            .status,
        200
    );

    cluster.stop_server().await;
    let ready = app.request(Method::GET, "/health/ready", None, None).await;
    ready.assert_error(503, "SERVICE_UNAVAILABLE");
    let health = app.request(Method::GET, "/health", None, None).await;
    assert_eq!(health.status, 503);
    assert_eq!(
        (
            &health.body["status"],
            &health.body["database_ok"],
            &health.body["queue"]
        ),
        (&json!("degraded"), &json!(false), &json!(null))
    );
    assert_eq!(
        app.request(Method::GET, "/health/live", None, None)
            .await
            .status,
        200
    );
    let scrape = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        scrape.status(),
        200,
        "metrics are served while the database is down"
    );
    assert!(
        !scrape
            .text()
            .await
            .unwrap()
            .contains("automatrix_queue_depth")
    );

    cluster.start_server().await;
    ready_again(&app).await;
    let health = app.request(Method::GET, "/health", None, None).await;
    assert_eq!(
        (health.status, &health.body["database_ok"]),
        (200, &json!(true))
    );
    app.stop().await;
}
