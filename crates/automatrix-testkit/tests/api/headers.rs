//! Security headers on every response: successes, errors, the fallback and the docs; HSTS only
//! over TLS (a proxy's `X-Forwarded-Proto: https`).

use automatrix_testkit::both_backends;

both_backends! {
    async fn every_response_carries_the_security_headers(app) {
        for (path, status) in [("/health", 200), ("/api/auth/me", 401), ("/no/such/page", 404), ("/api/openapi.json", 200)] {
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
        let tls = app.http.get(app.url("/health")).header("x-forwarded-proto", "https").send().await.unwrap();
        assert_eq!(tls.headers()["strict-transport-security"], "max-age=31536000; includeSubDomains");
    }
}
