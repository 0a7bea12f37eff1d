//! The sockets. Each subscribes to the live events before it answers the upgrade, so an event
//! published after the client saw `101 Switching Protocols` reaches it; then it sends, as JSON
//! text frames, what its filter lets through. A subscriber that fell behind gets
//! `{"type": "lagged", "missed": N}` and goes on. The server pings every 30 s.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use std::time::Duration;

use automatrix_core::StepStatus;
use automatrix_engine::live::{ExecutionEvent, LiveEvent, LiveReceiver, StepEvent};
use automatrix_store::{Execution, Step};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(execution_socket))
        .routes(routes!(workflow_socket))
        .routes(routes!(notifications_socket))
        .routes(routes!(super::metrics::metrics_socket))
}

/// How often an idle socket is pinged (proxies close quiet connections).
const PING_EVERY: Duration = Duration::from_secs(30);

/// What a socket does with one event.
enum Pass {
    Skip,
    Send,
    /// Send it, then close the socket: the stream is over.
    SendAndClose,
}

/// Stream an execution: the steps recorded so far, then each step event
/// `{type: "step", execution_id, node_id, node_type, status, attempt, duration_ms, error, at}`
/// and execution event `{type: "execution", status, …}` as they happen; the socket closes
/// (1000) after the execution's final state.
#[utoipa::path(get, path = "/ws/executions/{id}", tag = "live",
    params(("id" = Uuid, Path), ("ticket" = String, Query, description = "From POST /api/auth/ws-ticket")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn execution_socket(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Subscribed before reading, so nothing falls between the read and the stream.
    let events = state.engine.live().subscribe().await;
    let store = state.engine.store();
    let execution = store
        .get_execution(caller.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let steps = store.load_steps(id).await?;
    Ok(ws.on_upgrade(move |socket| stream_execution(socket, execution, steps, events)))
}

async fn stream_execution(
    socket: WebSocket,
    execution: Execution,
    steps: Vec<Step>,
    events: LiveReceiver,
) {
    let id = execution.id;
    let mut sent: HashSet<(String, u32, StepStatus)> = HashSet::new();
    let mut first: Vec<Value> = steps
        .into_iter()
        .map(|s| {
            let event = recorded(&execution, s);
            sent.insert((event.node_id.clone(), event.attempt, event.status));
            to_json(&LiveEvent::Step(event))
        })
        .collect();
    let finished = execution.status.is_terminal();
    if finished {
        first.push(to_json(&LiveEvent::Execution(ExecutionEvent::of(
            &execution,
        ))));
    }
    let mut latest = Latest::default();
    let pass = move |event: &LiveEvent| match event {
        LiveEvent::Step(s) if s.execution_id == id => {
            if sent.insert((s.node_id.clone(), s.attempt, s.status)) {
                Pass::Send
            } else {
                Pass::Skip
            }
        }
        LiveEvent::Execution(e) if e.execution_id == id && !latest.newer(e) => Pass::Skip,
        LiveEvent::Execution(e) if e.execution_id == id && e.status.is_terminal() => {
            Pass::SendAndClose
        }
        LiveEvent::Execution(e) if e.execution_id == id => Pass::Send,
        _ => Pass::Skip,
    };
    pump(socket, first, finished, events, pass).await;
}

/// A step as the store has it, as an event.
fn recorded(execution: &Execution, s: Step) -> StepEvent {
    StepEvent {
        organization_id: execution.organization_id,
        workflow_id: execution.workflow_id,
        execution_id: execution.id,
        node_id: s.node_id,
        node_type: s.node_type,
        status: s.status,
        attempt: u32::try_from(s.attempt).unwrap_or(0),
        duration_ms: s.duration_ms,
        error: s.error_message,
        at: s.completed_at.or(s.started_at).unwrap_or(s.updated_at),
    }
}

/// Stream a workflow's executions as they change state:
/// `{type: "execution", execution_id, workflow_id, status, error, duration_ms, at}`.
#[utoipa::path(get, path = "/ws/workflows/{id}/status", tag = "live",
    params(("id" = Uuid, Path), ("ticket" = String, Query, description = "From POST /api/auth/ws-ticket")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn workflow_socket(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let events = state.engine.live().subscribe().await;
    state
        .engine
        .store()
        .get_workflow(caller.org_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let org = caller.org_id;
    let mut latest = Latest::default();
    let pass = move |event: &LiveEvent| match event {
        LiveEvent::Execution(e)
            if e.workflow_id == id && e.organization_id == org && latest.newer(e) =>
        {
            Pass::Send
        }
        _ => Pass::Skip,
    };
    Ok(ws.on_upgrade(move |socket| pump(socket, Vec::new(), false, events, pass)))
}

/// Stream the organization's notifications:
/// `{type: "notification", kind, message, workflow_id, execution_id, node_id, data, at}`, where
/// `kind` is `execution_failed`, `approval_waiting` or `budget_alert`.
#[utoipa::path(get, path = "/ws/notifications", tag = "live",
    params(("ticket" = String, Query, description = "From POST /api/auth/ws-ticket")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
        (status = 401, body = ErrorBody)))]
async fn notifications_socket(
    State(state): State<AppState>,
    caller: AuthUser,
    ws: WebSocketUpgrade,
) -> Response {
    let events = state.engine.live().subscribe().await;
    let org = caller.org_id;
    let pass = move |event: &LiveEvent| match event {
        LiveEvent::Notification(n) if n.organization_id == org => Pass::Send,
        _ => Pass::Skip,
    };
    ws.on_upgrade(move |socket| pump(socket, Vec::new(), false, events, pass))
}

/// The latest change sent per execution: events of different processes may arrive out of
/// order (a creation announced by an API process after the worker that ran it announced its
/// end), and one older than what was sent would show a state the execution left.
#[derive(Default)]
struct Latest(HashMap<Uuid, DateTime<Utc>>);

impl Latest {
    /// Whether `e` is not older than what was sent for its execution (and remembers it).
    fn newer(&mut self, e: &ExecutionEvent) -> bool {
        let seen = self.0.entry(e.execution_id).or_insert(e.at);
        if e.at < *seen {
            return false;
        }
        *seen = e.at;
        true
    }
}

fn to_json(event: &LiveEvent) -> Value {
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// Sends `first`, then (unless `done` already) the events `pass` lets through, until it says
/// the stream is over, the client leaves, or the process stops publishing.
async fn pump(
    mut socket: WebSocket,
    first: Vec<Value>,
    done: bool,
    mut events: LiveReceiver,
    mut pass: impl FnMut(&LiveEvent) -> Pass + Send,
) {
    for value in first {
        if send(&mut socket, &value).await.is_err() {
            return;
        }
    }
    if done {
        close(socket, "finished").await;
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => {
                    let (value, last) = match pass(&event) {
                        Pass::Skip => continue,
                        Pass::Send => (to_json(&event), false),
                        Pass::SendAndClose => (to_json(&event), true),
                    };
                    if send(&mut socket, &value).await.is_err() {
                        return;
                    }
                    if last {
                        close(socket, "finished").await;
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    if send(&mut socket, &json!({"type": "lagged", "missed": missed})).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => {
                    close(socket, "shutting down").await;
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                // Pings are answered by the socket itself; the client sends nothing else.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

pub(super) async fn send(socket: &mut WebSocket, value: &Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(value.to_string().into())).await
}

async fn close(mut socket: WebSocket, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: close_code::NORMAL,
            reason: reason.into(),
        })))
        .await;
}
