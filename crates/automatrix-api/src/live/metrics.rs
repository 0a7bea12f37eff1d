//! `GET /ws/metrics`: the dashboard's summary (as `GET /api/metrics/summary` computes it over
//! the last 24 hours, rolling) pushed at once and then every `interval` seconds, for a live
//! dashboard without polling.

use std::time::Duration;

use automatrix_engine::SummaryRequest;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use uuid::Uuid;

use super::sockets::send;
use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

/// Seconds between pushes unless the client asks otherwise, and the bounds it may ask for.
const DEFAULT_INTERVAL: u64 = 10;
const INTERVALS: std::ops::RangeInclusive<u64> = 1..=300;

#[derive(Deserialize, IntoParams)]
pub struct MetricsSocketParams {
    /// Seconds between pushes, 1 to 300 (default 10).
    pub interval: Option<u64>,
    /// Only this workflow's executions and AI calls.
    pub workflow_id: Option<Uuid>,
}

/// Stream the organization's summary of the last 24 hours:
/// `{type: "metrics", at, summary}`, where `summary` is what `GET /api/metrics/summary`
/// answers, at once and then every `interval` seconds.
#[utoipa::path(get, path = "/ws/metrics", tag = "live", params(MetricsSocketParams, ("ticket" = String, Query, description = "From POST /api/auth/ws-ticket")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "interval is not 1 to 300")))]
pub(super) async fn metrics_socket(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(q): ApiQuery<MetricsSocketParams>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let interval = q.interval.unwrap_or(DEFAULT_INTERVAL);
    if !INTERVALS.contains(&interval) {
        return Err(ApiError::Validation {
            message: format!("interval must be 1 to 300 seconds, not {interval}"),
            details: vec![automatrix_core::Problem {
                path: "interval".into(),
                issue: "1 to 300 seconds".into(),
            }],
        });
    }
    let request = SummaryRequest {
        since: None,
        until: None,
        workflow_id: q.workflow_id,
        bucket: None,
    };
    // The first one now: a workflow of another organization is refused before the upgrade.
    let first = frame(&state, caller.org_id, &request).await?;
    let every = Duration::from_secs(interval);
    Ok(ws.on_upgrade(move |socket| push(socket, state, caller.org_id, request, first, every)))
}

async fn frame(
    state: &AppState,
    org: Uuid,
    request: &SummaryRequest,
) -> Result<serde_json::Value, ApiError> {
    let now = Utc::now();
    let summary = state.engine.execution_summary(org, request, now).await?;
    Ok(json!({"type": "metrics", "at": now, "summary": summary}))
}

async fn push(
    mut socket: WebSocket,
    state: AppState,
    org: Uuid,
    request: SummaryRequest,
    first: serde_json::Value,
    every: Duration,
) {
    if send(&mut socket, &first).await.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let value = match frame(&state, org, &request).await {
                    Ok(value) => value,
                    // A database that does not answer now may later: say so and go on.
                    Err(e) => json!({"type": "error", "message": e.to_string()}),
                };
                if send(&mut socket, &value).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
