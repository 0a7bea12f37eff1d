//! Security headers on every response: successes, errors, the fallback, the docs and the UI; HSTS only
//! over TLS (a proxy's `X-Forwarded-Proto: https`).

use automatrix_testkit::{Backend, TestApp, both_backends};

both_backends! {
    async fn every_response_carries_the_security_headers(app) {
        for (path, status) in [("/health", 200), ("/api/auth/me", 401), ("/api/no/such/page", 404), ("/api/openapi.json", 200)] {
            let res = app.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), status, "{path}");
            let h = res.headers();
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'", "{path}");
            assert!(h.get("strict-transport-security").is_none(), "{path}: HSTS without TLS");
        }
        let docs = app.http.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), 200);
        let csp = docs.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        // The web UI's pages: the same headers, with the UI's own policy.
        let page = app.http.get(app.url("/no/such/page")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.starts_with("default-src 'self'; script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        let tls = app.http.get(app.url("/health")).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(tls.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    }
}

/// With `cors_origins` set, a listed origin's preflight and request are allowed; any other
/// origin gets no allowance; unset (the other tests), no CORS headers at all.
async fn cors_allows_only_the_configured_origins(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.cors_origins = vec!["https://crm.dealer.example".into()];
    })
    .await
    else {
        return;
    };
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/workflows"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, x-organization-id",
            )
            .send()
    };
    let ok = preflight("https://crm.dealer.example").await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    let h = ok.headers();
    assert_eq!(
        h["access-control-allow-origin"],
        "https://crm.dealer.example"
    );
    let allowed = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("x-organization-id"),
        "{allowed}"
    );
    assert!(
        h.get("access-control-allow-credentials").is_none(),
        "bearer tokens, not cookies"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let res = app
        .http
        .get(app.url("/api/auth/me"))
        .header("origin", "https://crm.dealer.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://crm.dealer.example"
    );
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    app.stop().await;

    let Some(plain) = TestApp::spawn(backend).await else {
        return;
    };
    let res = plain
        .http
        .get(plain.url("/health"))
        .header("origin", "https://crm.dealer.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    plain.stop().await;
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_sqlite() {
    cors_allows_only_the_configured_origins(Backend::Sqlite).await;
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins_postgres() {
    cors_allows_only_the_configured_origins(Backend::Postgres).await;
}
