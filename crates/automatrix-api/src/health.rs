//! Health probes: `/health` (summary, with the job queue), `/health/live` (the process
//! answers) and `/health/ready` (the database answers; 503 otherwise). A database that does
//! not answer within [`QUEUE_LOOK_TIMEOUT`] counts as down, so a probe never hangs on the
//! pool; once it answers again the probes say so, without a restart.

use automatrix_engine::QUEUE_LOOK_TIMEOUT;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
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
    /// The job queue of every process on the database; `null` when the database is down.
    pub queue: Option<QueueInfo>,
}

#[derive(Serialize, ToSchema)]
pub struct QueueInfo {
    /// Executions due to run that no worker has taken yet.
    pub due: u64,
    /// Executions a worker is running now.
    pub running: u64,
}

/// Summary of the service's health.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // Counting the queue is the database round trip: it answered, or it is down.
    let queue = state.engine.observe_queue().await;
    let ok = queue.is_some();
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
            queue: queue.map(|q| QueueInfo {
                due: q.due,
                running: q.running,
            }),
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
async fn ready(State(state): State<AppState>) -> Result<Json<Probe>, ApiError> {
    match tokio::time::timeout(QUEUE_LOOK_TIMEOUT, state.store().ping()).await {
        Ok(Ok(())) => Ok(Json(Probe { status: "ok" })),
        Ok(Err(e)) => Err(ApiError::Unavailable(format!("database: {e}"))),
        Err(_) => Err(ApiError::Unavailable(format!(
            "database: no answer within {} s",
            QUEUE_LOOK_TIMEOUT.as_secs()
        ))),
    }
}
