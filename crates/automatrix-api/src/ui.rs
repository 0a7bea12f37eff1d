//! The web UI, embedded in the binary (`build.rs` reads `web/dist`): one binary is the whole
//! product. Every path outside the API's own prefixes is the UI's:
//!
//! - a file of the build is served with its content type, ETag and, when the client takes it,
//!   its gzip copy; hashed files under `/assets/` are cached for a year, `index.html` never,
//!   anything else is revalidated;
//! - any other path is a screen of the single-page app: `index.html`, never cached;
//! - a missing `/assets/…` file, and every unknown path under `/api`, `/ws`, `/hooks`,
//!   `/health`, `/metrics` and `/docs`, is the API's 404: the API never falls through to the UI.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// One file of the built UI.
pub(crate) struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    /// A quoted strong ETag: a prefix of the file's SHA-256.
    pub etag: &'static str,
    pub body: &'static [u8],
    pub gzip: Option<&'static [u8]>,
}

/// Sorted by path (the build script sorts them).
static ASSETS: &[Asset] = include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// What `/` answers when this binary was built without the UI.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AutoMatrix</title></head>\
<body><h1>AutoMatrix</h1><p>The web UI is not part of this build. Build it with <code>make web</code> \
(or start the server with <code>make run</code>, which does), then build the server again. The API is \
at <a href=\"/docs\">/docs</a>.</p></body></html>";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NEVER: &str = "no-store";
const REVALIDATE: &str = "no-cache";

/// Who answers a path: the API, its interactive docs, or the UI. The one split the router's
/// fallback and the security headers both follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Area {
    Api,
    Docs,
    Ui,
}

/// The area of `path`, by its first segment.
pub(crate) fn area(path: &str) -> Area {
    match path.trim_start_matches('/').split('/').next().unwrap_or("") {
        "api" | "ws" | "hooks" | "health" | "metrics" => Area::Api,
        "docs" => Area::Docs,
        _ => Area::Ui,
    }
}

/// Whether this binary carries the UI.
pub fn built() -> bool {
    !ASSETS.is_empty()
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}

/// The fallback of the application router: the UI, or the API's 404 and 405.
pub(crate) async fn fallback(req: Request) -> Response {
    let path = req.uri().path();
    if area(path) != Area::Ui {
        return ApiError::NotFound.into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::MethodNotAllowed.into_response();
    }
    let rel = path.trim_start_matches('/');
    if let Some(asset) = find(rel).filter(|_| rel != "index.html") {
        let cache = if rel.starts_with("assets/") {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        return respond(asset, cache, req.headers());
    }
    // A file that is not there (an old hashed asset, a typo) is a 404, not the app.
    let last = rel.rsplit('/').next().unwrap_or("");
    if rel.starts_with("assets/") || last.contains('.') {
        return ApiError::NotFound.into_response();
    }
    match find("index.html") {
        Some(index) => respond(index, NEVER, req.headers()),
        None => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, NEVER),
            ],
            NOT_BUILT,
        )
            .into_response(),
    }
}

fn respond(asset: &'static Asset, cache: &'static str, req: &HeaderMap) -> Response {
    let mut res = Response::builder()
        .header(header::CONTENT_TYPE, asset.content_type)
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, asset.etag);
    if asset.gzip.is_some() {
        res = res.header(header::VARY, "Accept-Encoding");
    }
    let not_modified = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == asset.etag || t.trim() == "*")
        });
    if not_modified && cache != NEVER {
        return res
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default();
    }
    let body = match asset.gzip {
        Some(gz) if accepts_gzip(req) => {
            res = res.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gz
        }
        _ => asset.body,
    };
    res.body(Body::from(body)).unwrap_or_default()
}

fn accepts_gzip(req: &HeaderMap) -> bool {
    req.get_all(header::ACCEPT_ENCODING).iter().any(|v| {
        v.to_str().is_ok_and(|s| {
            s.split(',').any(|coding| {
                let mut parts = coding.split(';');
                let name = parts.next().unwrap_or("").trim();
                let refused =
                    parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                name.eq_ignore_ascii_case("gzip") && !refused
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_recognised_by_their_first_segment() {
        for p in [
            "/api",
            "/api/workflows",
            "/ws/executions/x",
            "/hooks/abc",
            "/health/live",
            "/metrics",
        ] {
            assert_eq!(area(p), Area::Api, "{p}");
        }
        for p in ["/docs", "/docs/", "/docs/index.html"] {
            assert_eq!(area(p), Area::Docs, "{p}");
        }
        for p in [
            "/",
            "/workflows",
            "/apis",
            "/assets/index.js",
            "/settings/api-keys",
            "/healthy",
        ] {
            assert_eq!(area(p), Area::Ui, "{p}");
        }
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.8"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip;q=0, br"),
        );
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn the_table_is_sorted_for_lookup() {
        assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path));
    }
}
