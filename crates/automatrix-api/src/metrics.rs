//! `GET /metrics` (the engine's [`Metrics`](automatrix_engine::Metrics) in the Prometheus
//! text format) and the middleware that counts and times every HTTP request by its route
//! template, never its raw path.

use std::time::Instant;

use automatrix_engine::{Metrics, PROMETHEUS_CONTENT_TYPE, UNMATCHED_ROUTE};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// The process's metrics in the Prometheus text format (0.0.4): HTTP requests, executions,
/// steps, the queue, busy workers and AI usage (docs/observability.md lists them). Public,
/// unless the server sets `AUTOMATRIX_METRICS_TOKEN`: then it needs
/// `Authorization: Bearer <that token>`.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, body = ErrorBody, description = "`AUTOMATRIX_METRICS_TOKEN` is set and the request does not carry it"),
    ))]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        if !given.is_some_and(|g| token.matches(g)) {
            return Err(ApiError::Unauthorized(
                "the metrics token is missing or wrong",
            ));
        }
    }
    state.engine.observe_queue().await;
    let text = state.engine.metrics().render();
    Ok(([(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text).into_response())
}

/// The bearer `GET /metrics` requires (`AUTOMATRIX_METRICS_TOKEN`), kept as its SHA-256 so
/// that the comparison takes the same time whatever its length and wherever a guess differs.
#[derive(Clone)]
pub struct MetricsToken([u8; 32]);

impl MetricsToken {
    pub fn new(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.ct_eq(&self.0).into()
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// The method label: one of the standard methods, else `OTHER` (a client may send any
/// token as a method, and each would otherwise make a series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts and times the request under its route template (`route="unmatched"` when no route
/// matched). The time runs until the response head; a streamed body may go on after it.
pub(crate) async fn record(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    let route = route.as_ref().map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
    metrics.http_request(method, route, response.status().as_u16(), started.elapsed());
    response
}
