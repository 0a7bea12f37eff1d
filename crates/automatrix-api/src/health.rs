//! Health probes: `/health` (summary), `/health/live` (the process answers) and
//! `/health/ready` (the database answers; 503 otherwise).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    pub version: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub database_ok: bool,
}

/// Summary of the service's health.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let ok = state.store().ping().await.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if ok { "ok" } else { "degraded" },
            version: env!("CARGO_PKG_VERSION"),
            database: state.store().backend(),
            database_ok: ok,
        }),
    )
}

#[derive(Serialize, ToSchema)]
pub struct Probe {
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = Probe)))]
async fn live() -> Json<Probe> {
    Json(Probe { status: "ok" })
}

/// Readiness: the database is reachable.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses((status = 200, body = Probe), (status = 503, body = ErrorBody)))]
async fn ready(State(state): State<AppState>) -> Result<Json<Probe>, crate::error::ApiError> {
    state
        .store()
        .ping()
        .await
        .map_err(|e| crate::error::ApiError::Unavailable(format!("database: {e}")))?;
    Ok(Json(Probe { status: "ok" }))
}
