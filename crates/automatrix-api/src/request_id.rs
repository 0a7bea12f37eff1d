//! Request ids and the request span (see docs/logging-tracing.md).
//!
//! Every request gets an `X-Request-Id`: the client's when it is sane (1 to 128 of
//! `A-Z a-z 0-9 . _ : -`), else a new UUID. It is echoed on every response, errors and 404s
//! included, and is a field of the `request` span around the request, so every log line of the
//! request carries it. The span names the route template (never the raw path or query) and
//! continues the trace of an incoming W3C `traceparent`. Handlers that start an execution take
//! [`RequestOrigin`], which the execution records.

use std::convert::Infallible;
use std::time::Duration;

use automatrix_engine::trace;
use automatrix_store::Origin;
use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::{Span, field, info_span};

/// The header that carries a request's id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The W3C trace context header.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The longest client-chosen request id kept.
const MAX_LEN: usize = 128;

/// Wraps `app` so that every request has an id and runs in its `request` span.
pub(crate) fn layer(app: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(request_span)
        .on_response(|response: &Response<_>, latency: Duration, span: &Span| {
            // As `i64`: the OpenTelemetry layer exports unsigned numbers as text.
            span.record("status", i64::from(response.status().as_u16()));
            let latency_ms = i64::try_from(latency.as_millis()).unwrap_or(i64::MAX);
            tracing::debug!(latency_ms, "answered");
        });
    app.layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        // Outermost: an unacceptable id is dropped, so the layer above makes one.
        .layer(axum::middleware::map_request(drop_unacceptable_id))
}

/// Whether a client's request id may stand.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

async fn drop_unacceptable_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let sane = {
        let mut ids = headers.get_all(&REQUEST_ID_HEADER).iter();
        ids.next().is_some_and(acceptable) && ids.next().is_none()
    };
    if !sane {
        headers.remove(&REQUEST_ID_HEADER);
    }
    request
}

/// The `request` span: its id, method, route template and (once answered) status.
fn request_span<B>(request: &axum::http::Request<B>) -> Span {
    let id = request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let span = info_span!(
        "request",
        request_id = id,
        method = %request.method(),
        route,
        status = field::Empty,
    );
    if let Some(parent) = incoming_traceparent(request.headers()) {
        trace::adopt(&span, parent);
    }
    span
}

fn incoming_traceparent(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(&TRACEPARENT).and_then(|v| v.to_str().ok())
}

/// What an execution started by this request records: the request's id, and the trace its
/// run continues (the request span's, or without OpenTelemetry the caller's `traceparent`).
pub(crate) struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let request_id = parts
            .headers
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let trace_context = trace::current().or_else(|| {
            incoming_traceparent(&parts.headers)
                .filter(|t| trace::parse(t).is_some())
                .map(str::to_owned)
        });
        Ok(Self(Origin {
            request_id,
            trace_context,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_accepted() {
        let ok = |s: &str| acceptable(&HeaderValue::from_str(s).unwrap());
        assert!(ok("abc-123"));
        assert!(ok("0b4f.trace_id:7"));
        assert!(ok(&"a".repeat(MAX_LEN)));
        assert!(!ok(""));
        assert!(!ok(&"a".repeat(MAX_LEN + 1)));
        assert!(!ok("has space"));
        assert!(!ok("quote\"d"));
        assert!(!ok("a/b"));
        assert!(!acceptable(
            &HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap()
        ));
    }
}
