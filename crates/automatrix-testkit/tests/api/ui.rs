//! The embedded web UI: served at `/` and at every screen's path, hashed assets cached for a
//! year, `index.html` never, gzip when the client takes it, and the API's paths never falling
//! through to the UI.

use automatrix_testkit::both_backends;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};
use reqwest::{Client, Method, Response};

/// A client that shows the bytes on the wire (no automatic decompression).
fn raw_client() -> Client {
    Client::builder().no_gzip().build().expect("client")
}

fn header(res: &Response, name: impl reqwest::header::AsHeaderName) -> &str {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header"))
        .unwrap_or("")
}

/// The `/assets/…` files the page loads.
fn asset_paths(index: &str) -> Vec<String> {
    index
        .split('"')
        .filter(|s| s.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

both_backends! {
    async fn every_screen_path_gets_the_app_and_it_is_never_cached(app) {
        let http = raw_client();
        let mut bodies = Vec::new();
        for path in ["/", "/workflows", "/workflows/0193c1f2-aaaa-7000-8000-000000000000", "/settings/api-keys", "/signin"] {
            let res = http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(header(&res, CONTENT_TYPE), "text/html; charset=utf-8", "{path}");
            assert_eq!(header(&res, CACHE_CONTROL), "no-store", "{path}");
            let csp = header(&res, CONTENT_SECURITY_POLICY).to_owned();
            assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
            assert!(!csp.contains("unsafe-eval"), "{csp}");
            bodies.push(res.text().await.unwrap());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "one page for every screen");
        if automatrix_api::ui_built() {
            assert!(bodies[0].contains("<div id=\"root\">"), "{}", bodies[0]);
            assert!(!asset_paths(&bodies[0]).is_empty(), "the page loads its bundle: {}", bodies[0]);
        } else {
            assert!(bodies[0].contains("make web"), "the page says how to build the UI: {}", bodies[0]);
        }
    }

    async fn hashed_assets_are_cached_for_a_year_and_revalidate_by_etag(app) {
        if !automatrix_api::ui_built() {
            return; // nothing to serve: the test above checks the explanation instead
        }
        let http = raw_client();
        let index = http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
        let assets = asset_paths(&index);
        let script = assets.iter().find(|a| a.ends_with(".js")).expect("a script");
        assert!(assets.iter().any(|a| a.ends_with(".css")), "a stylesheet: {assets:?}");
        for path in &assets {
            let res = http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(header(&res, CACHE_CONTROL), "public, max-age=31536000, immutable", "{path}");
            let etag = header(&res, ETAG).to_owned();
            assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
            let again = http.get(app.url(path)).header(IF_NONE_MATCH, &etag).send().await.unwrap();
            assert_eq!(again.status(), 304, "{path}");
            assert!(again.bytes().await.unwrap().is_empty());
        }
        let plain = http.get(app.url(script)).send().await.unwrap();
        assert_eq!(header(&plain, CONTENT_TYPE), "text/javascript; charset=utf-8");
        assert_eq!(header(&plain, CONTENT_ENCODING), "");
        let plain = plain.bytes().await.unwrap();
        let zipped = http.get(app.url(script)).header(ACCEPT_ENCODING, "gzip, br").send().await.unwrap();
        assert_eq!(header(&zipped, CONTENT_ENCODING), "gzip");
        assert_eq!(header(&zipped, "vary"), "Accept-Encoding");
        let zipped = zipped.bytes().await.unwrap();
        assert!(zipped.len() < plain.len() / 2, "{} of {} bytes", zipped.len(), plain.len());
        assert_eq!(&zipped[..2], &[0x1f, 0x8b], "a gzip stream");
        let refused = http.get(app.url(script)).header(ACCEPT_ENCODING, "gzip;q=0").send().await.unwrap();
        assert_eq!(header(&refused, CONTENT_ENCODING), "");
    }

    async fn the_api_never_falls_through_to_the_ui(app) {
        let http = raw_client();
        for path in ["/api", "/api/nothing-here", "/api/workflows/x/y/z", "/ws/nothing", "/hooks", "/health/nothing", "/assets/gone-1234.js", "/robots.txt"] {
            let res = http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), 404, "{path}");
            assert_eq!(header(&res, CONTENT_TYPE), "application/json", "{path}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "NOT_FOUND", "{path}");
        }
        // Swagger UI answers its own 404s (no body), but never the app.
        assert_eq!(http.get(app.url("/docs/nothing")).send().await.unwrap().status(), 404);
        let api_csp = http.get(app.url("/api/nothing-here")).send().await.unwrap();
        assert_eq!(header(&api_csp, CONTENT_SECURITY_POLICY), "default-src 'none'; frame-ancestors 'none'");
        for method in [Method::POST, Method::PUT, Method::DELETE] {
            let res = http.request(method.clone(), app.url("/workflows")).send().await.unwrap();
            assert_eq!(res.status(), 405, "{method} on a screen");
        }
    }
}
