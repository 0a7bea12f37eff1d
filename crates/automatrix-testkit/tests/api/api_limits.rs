//! Requests per authenticated caller: each API key and each user has a bucket of its own;
//! over it, 429 with `Retry-After`.

use automatrix_api::RateLimit;
use automatrix_testkit::{Backend, TestApp};
use serde_json::json;

async fn each_caller_has_a_bucket_of_its_own(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.api_rate_limit = Some(RateLimit {
            requests: 4,
            per_seconds: 3600,
        });
    })
    .await
    else {
        return;
    };
    let s = app.signup().await;
    let key = app
        .post(
            "/api/api-keys",
            &s.access_token,
            &json!({"name": "sync", "role": "viewer"}),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.body["key"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(app.get("/api/workflows", &s.access_token).await.status, 200);
    }
    let over = app.get("/api/auth/me", &s.access_token).await;
    over.assert_error(429, "RATE_LIMITED");
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // The key counts on its own; another user too; public routes are not counted.
    for _ in 0..4 {
        assert_eq!(app.get("/api/workflows", &key).await.status, 200);
    }
    app.get("/api/workflows", &key)
        .await
        .assert_error(429, "RATE_LIMITED");
    let other = app.signup().await;
    assert_eq!(
        app.get("/api/workflows", &other.access_token).await.status,
        200
    );
    assert_eq!(
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn each_caller_has_a_bucket_of_its_own_sqlite() {
    each_caller_has_a_bucket_of_its_own(Backend::Sqlite).await;
}

#[tokio::test]
async fn each_caller_has_a_bucket_of_its_own_postgres() {
    each_caller_has_a_bucket_of_its_own(Backend::Postgres).await;
}
