//! The AutoMatrix HTTP API (DESIGN.md §5): one router module per resource, auth as an
//! extractor, one error shape, and an OpenAPI 3.1 document generated from the handlers.
//!
//! The server is built from an injected listener and a shutdown future ([`serve`]), so tests
//! bind port 0 and stop cleanly. The API never names a concrete store: it gets an
//! `Arc<dyn Store>` inside the [`automatrix_engine::Engine`].

mod access;
mod ai;
mod ai_proxy;
mod api_keys;
mod audit;
mod auth;
mod client_ip;
mod cors;
mod credentials;
mod dashboard;
mod error;
mod executions;
mod extract;
mod headers;
mod health;
mod hooks;
mod limits;
mod live;
mod metrics;
mod node_types;
mod openapi;
mod orgs;
mod request_id;
mod sso;
mod state;
mod templates;
mod ui;
mod workflow_io;
mod workflow_versions;
mod workflows;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use access::ORGANIZATION_HEADER;
pub use access::policy::{Access, RULES as ACCESS_RULES, Rule};
pub use auth::{AuthConfig, LoginLimits};
pub use error::{ApiError, ErrorBody};
pub use hooks::{HookAccepted, IDEMPOTENCY_HEADER, REPLAYED_HEADER, SIGNATURE_HEADER};
pub use limits::{Backoff, RateLimit};
pub use metrics::MetricsToken;
pub use openapi::openapi;
pub use request_id::REQUEST_ID_HEADER;
pub use sso::oidc::OidcConfig;
pub use state::AppState;
pub use ui::built as ui_built;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    pub auth: AuthConfig,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest accepted webhook body (`AUTOMATRIX_WEBHOOK_MAX_BYTES`); over it: 413.
    pub webhook_max_bytes: usize,
    /// Origins allowed to call the API from a browser (`AUTOMATRIX_CORS_ORIGINS`); none: no
    /// cross-origin access.
    pub cors_origins: Vec<String>,
    /// Whether the server sits behind a proxy whose `X-Forwarded-For` names the client
    /// (`AUTOMATRIX_TRUST_PROXY`); otherwise the socket peer is the client.
    pub trust_proxy: bool,
    /// Back-off after failed logins and MFA codes.
    pub login_limits: LoginLimits,
    /// Count failed logins in the database, shared by every API process
    /// (`AUTOMATRIX_LOGIN_LIMITS_SHARED`), instead of in this process.
    pub shared_login_limits: bool,
    /// Requests per authenticated caller (an API key, else a user), in this process
    /// (`AUTOMATRIX_API_RATE_LIMIT`); `None`: unlimited.
    pub api_rate_limit: Option<RateLimit>,
    /// Single sign-on through an OpenID Connect provider (`AUTOMATRIX_OIDC_*`); `None`: the
    /// SSO routes answer 404.
    pub oidc: Option<OidcConfig>,
    /// What `GET /metrics` requires as its bearer (`AUTOMATRIX_METRICS_TOKEN`); `None`: it is
    /// public.
    pub metrics_token: Option<MetricsToken>,
}

impl ApiConfig {
    pub fn new(auth: AuthConfig) -> Self {
        Self {
            auth,
            max_body_bytes: 2 * 1024 * 1024,
            webhook_max_bytes: 1024 * 1024,
            trust_proxy: false,
            login_limits: LoginLimits::default(),
            shared_login_limits: false,
            api_rate_limit: Some(DEFAULT_API_RATE_LIMIT),
            cors_origins: Vec::new(),
            oidc: None,
            metrics_token: None,
        }
    }
}

/// 3,000 requests a minute per caller (50 a second sustained, bursts of 3,000).
pub const DEFAULT_API_RATE_LIMIT: RateLimit = RateLimit {
    requests: 3000,
    per_seconds: 60,
};

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let cors = cors::layer(&state.config.cors_origins);
    let (api, doc) = openapi::api_router().split_for_parts();
    // Every routed request passes the access rule of its route first (unrouted ones get the
    // 404 and 405 fallbacks, which need no rule).
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        access::authorize,
    ));
    let app = counted(
        Router::new()
            .merge(api)
            .merge(openapi::docs_router(doc))
            .fallback(ui::fallback),
        state,
    )
    .layer(DefaultBodyLimit::max(max_body))
    .layer(CatchPanicLayer::custom(error::panic_response))
    .layer(axum::middleware::from_fn(headers::security_headers));
    // A preflight is answered before anything else looks at it ...
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    // ... but it has an id too, like every request.
    request_id::layer(app)
}

/// Only `GET /metrics` and the health probes: what the separate metrics listener
/// (`AUTOMATRIX_METRICS_BIND`) serves, in `serve` and `worker` processes alike.
pub fn probes_router(state: AppState) -> Router {
    let (routes, _) = utoipa_axum::router::OpenApiRouter::new()
        .merge(health::router())
        .merge(metrics::router())
        .split_for_parts();
    counted(routes.fallback(error::not_found_fallback), state)
}

/// `routes` (with its 404 fallback) with the 405 fallback, its state, and the HTTP metrics,
/// which are applied to each route (and the fallbacks), so they see the route's template.
fn counted(routes: Router<AppState>, state: AppState) -> Router {
    let recorder = state.engine.metrics().clone();
    routes
        .method_not_allowed_fallback(error::method_not_allowed_fallback)
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            recorder,
            metrics::record,
        ))
}

/// Serves until `shutdown` resolves, then finishes in-flight requests (at most `grace`).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), shutdown).await
}

/// [`serve`] with [`probes_router`]: the separate metrics listener.
pub async fn serve_probes(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, probes_router(state), shutdown).await
}

async fn serve_router(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Without TCP_NODELAY a response written in several small pieces (a streamed AI answer's
    // events) waits for the client's delayed ACK, up to 40 ms, between pieces.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY could not be set");
        }
    });
    // The peer address is the client's IP for rate limits (see `client_ip`).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
