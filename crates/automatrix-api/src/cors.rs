//! Cross-origin requests: off unless configured. With `AUTOMATRIX_CORS_ORIGINS` naming the
//! origins of a web front end served elsewhere, those origins (and only they) may call the API
//! from a browser. Credentials are bearer tokens in a header, never cookies, so no
//! `Access-Control-Allow-Credentials`.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The layer for `origins` (exact `scheme://host[:port]` values, checked by the
/// configuration); `None` when there are none: browsers then keep to the same origin.
pub(crate) fn layer(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let headers = [
        "authorization",
        "content-type",
        "x-organization-id",
        "idempotency-key",
        "x-request-id",
    ]
    .map(HeaderName::from_static);
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers(headers)
            .expose_headers(["x-request-id", "retry-after"].map(HeaderName::from_static))
            .max_age(Duration::from_secs(600)),
    )
}
