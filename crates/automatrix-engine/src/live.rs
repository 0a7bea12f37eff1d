//! Live events: what browsers watch over WebSockets (a step started or finished, an
//! execution changed state, a notification for the organization).
//!
//! [`LiveBus::publish`] hands an event to this process's subscribers at once, and, where
//! processes share the database (PostgreSQL), to a sender task that batches what accumulated
//! into one `NOTIFY` (under the 8,000-byte payload limit) off the caller's path: a step never
//! waits for its event to leave. Every API process listens (started by its first
//! subscriber) and relays other processes' batches to its own subscribers; its own come back
//! too and are skipped by their origin.
//!
//! Events are lossy by design, like the queue's: the store is the record. A subscriber that
//! falls behind is told how many it missed and re-reads what it needs.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use automatrix_core::{ExecutionStatus, StepStatus};
use automatrix_store::{Execution, StepWrite, Store};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::warn;
use uuid::Uuid;

/// One live event. Serialized with a `type` tag: `step`, `execution` or `notification`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    Step(StepEvent),
    Execution(ExecutionEvent),
    Notification(Notification),
}

impl LiveEvent {
    pub fn organization_id(&self) -> Uuid {
        match self {
            Self::Step(e) => e.organization_id,
            Self::Execution(e) => e.organization_id,
            Self::Notification(n) => n.organization_id,
        }
    }
}

/// A step changed state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepEvent {
    pub organization_id: Uuid,
    pub workflow_id: Uuid,
    pub execution_id: Uuid,
    pub node_id: String,
    pub node_type: String,
    pub status: StepStatus,
    pub attempt: u32,
    /// Set once the step ended.
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// An execution changed state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionEvent {
    pub organization_id: Uuid,
    pub workflow_id: Uuid,
    pub execution_id: Uuid,
    pub status: ExecutionStatus,
    pub error: Option<String>,
    /// From its start to now, once it finished.
    pub duration_ms: Option<i64>,
    /// When the change was written (the time it was stamped with before its commit), so
    /// a change always has a later `at` than the one it followed, whichever process made
    /// them, as long as their clocks agree; events of different processes may arrive out of
    /// order, and sockets drop one older than what they sent for the execution.
    pub at: DateTime<Utc>,
}

impl ExecutionEvent {
    /// The state `execution` is in now, as of its last write.
    pub fn of(execution: &Execution) -> Self {
        let finished = execution.status.is_terminal();
        Self {
            organization_id: execution.organization_id,
            workflow_id: execution.workflow_id,
            execution_id: execution.id,
            status: execution.status,
            error: execution.error_message.clone(),
            duration_ms: execution
                .started_at
                .zip(execution.completed_at)
                .filter(|_| finished)
                .map(|(s, c)| (c - s).num_milliseconds()),
            at: execution.updated_at,
        }
    }
}

/// What an organization's people should hear about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// An execution failed.
    ExecutionFailed,
    /// A `flow.approval` step waits for someone's decision.
    ApprovalWaiting,
    /// The month's AI spend reached the budget's alert share.
    BudgetAlert,
}

/// A notification for everyone watching an organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub organization_id: Uuid,
    pub kind: NotificationKind,
    pub message: String,
    pub workflow_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub node_id: Option<String>,
    /// Details by kind (the budget's figures, say).
    pub data: Value,
    pub at: DateTime<Utc>,
}

/// The node whose waiting step is announced as an approval to decide.
const APPROVAL_NODE: &str = "flow.approval";

/// The events of `steps` of a run of `workflow_id`, to publish once they are written: each
/// step, and for an approval that now waits, a notification to the organization. (Built
/// before the write, which takes the records; whether anyone hears them is decided when they
/// are published, after it, so a watcher who subscribed meanwhile gets them.)
pub(crate) fn step_events(workflow_id: Uuid, steps: &[StepWrite]) -> Vec<LiveEvent> {
    let mut events = Vec::with_capacity(steps.len());
    for s in steps {
        let event = StepEvent {
            organization_id: s.organization_id,
            workflow_id,
            execution_id: s.execution_id,
            node_id: s.node_id.clone(),
            node_type: s.node_type.clone(),
            status: s.status,
            attempt: u32::try_from(s.attempt).unwrap_or(0),
            duration_ms: s.duration_ms,
            error: s.error_message.clone(),
            at: s.now,
        };
        if s.status == StepStatus::Waiting && s.node_type == APPROVAL_NODE {
            events.push(LiveEvent::Notification(Notification {
                organization_id: s.organization_id,
                kind: NotificationKind::ApprovalWaiting,
                message: format!(
                    "step `{}` of execution {} waits for an approval",
                    s.node_id, s.execution_id
                ),
                workflow_id: Some(workflow_id),
                execution_id: Some(s.execution_id),
                node_id: Some(s.node_id.clone()),
                data: serde_json::json!({
                    "decide": format!("/api/executions/{}/steps/{}/approve", s.execution_id, s.node_id)
                }),
                at: s.now,
            }));
        }
        events.push(LiveEvent::Step(event));
    }
    events
}

/// What everyone watching the organization hears when an execution fails.
pub(crate) fn failure_notice(event: &ExecutionEvent) -> Notification {
    let error = event.error.as_deref().unwrap_or("no error message");
    Notification {
        organization_id: event.organization_id,
        kind: NotificationKind::ExecutionFailed,
        message: format!("execution {} failed: {error}", event.execution_id),
        workflow_id: Some(event.workflow_id),
        execution_id: Some(event.execution_id),
        node_id: None,
        data: serde_json::json!({"error": event.error}),
        at: event.at,
    }
}

/// What a subscriber gets: an event, or word that it fell behind.
pub type LiveReceiver = broadcast::Receiver<Arc<LiveEvent>>;

/// Events a subscriber may fall behind by before it is told it missed some.
const SUBSCRIBER_BUFFER: usize = 1024;
/// Events waiting for the sender task before new ones are dropped (and logged).
const OUTBOX: usize = 8192;
/// The largest batch payload; PostgreSQL refuses 8,000 bytes and more.
const MAX_PAYLOAD: usize = 7000;
/// How long the first subscriber waits for the listener to listen.
const READY_WAIT: Duration = Duration::from_secs(5);
/// The first wait before listening again; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The process's live events (cheap to clone).
#[derive(Clone)]
pub struct LiveBus {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    /// Tells batches of this process from others'.
    origin: Uuid,
    local: broadcast::Sender<Arc<LiveEvent>>,
    /// To the sender task (started by the first publish); `None` inside once the store said
    /// it has no channel.
    outbox: OnceLock<Option<mpsc::Sender<LiveEvent>>>,
    /// Set once the listener task was started (by the first subscriber) and listens.
    listening: tokio::sync::OnceCell<()>,
}

/// A batch on the wire: who sent it, and what (written by [`send_batches`] event by event).
#[derive(Deserialize)]
struct Batch {
    origin: Uuid,
    events: Vec<LiveEvent>,
}

impl LiveBus {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (local, _) = broadcast::channel(SUBSCRIBER_BUFFER);
        Self {
            inner: Arc::new(Inner {
                store,
                origin: Uuid::new_v4(),
                local,
                outbox: OnceLock::new(),
                listening: tokio::sync::OnceCell::new(),
            }),
        }
    }

    /// Hands `event` to this process's subscribers now and to other processes' soon. Never
    /// waits; needs a Tokio runtime (the first call starts the sender task).
    pub fn publish(&self, event: LiveEvent) {
        if !self.heard() {
            return;
        }
        let outbox = self.inner.outbox.get_or_init(|| self.start_sender());
        if let Some(outbox) = outbox
            && let Err(e) = outbox.try_send(event.clone())
        {
            warn!(error = %e, "live events are not keeping up; dropping one for other processes");
        }
        // Nobody subscribed here is fine.
        let _ = self.inner.local.send(Arc::new(event));
    }

    /// Whether anyone may hear an event: a subscriber in this process, or other processes
    /// sharing the database. Where nobody does (SQLite without an open socket), publishing
    /// does nothing.
    pub fn heard(&self) -> bool {
        self.inner.store.shares_live_events() || self.inner.local.receiver_count() > 0
    }

    /// [`publish`](Self::publish)es each of `events`, in order.
    pub fn publish_all(&self, events: Vec<LiveEvent>) {
        for event in events {
            self.publish(event);
        }
    }

    /// Every event from now on, from every process. The first call starts listening to the
    /// others, where there are others, and returns once it listens (or gave up for now and
    /// retries in the background), so an event published after this returns is not missed.
    pub async fn subscribe(&self) -> LiveReceiver {
        let receiver = self.inner.local.subscribe();
        self.inner
            .listening
            .get_or_init(|| async {
                let (ready, listening) = oneshot::channel();
                tokio::spawn(listen(Arc::downgrade(&self.inner), ready));
                if tokio::time::timeout(READY_WAIT, listening).await.is_err() {
                    warn!("still not listening for other processes' live events; going on");
                }
            })
            .await;
        receiver
    }

    /// Where the database is not shared (SQLite), nothing to send; otherwise a task that
    /// sends batches until the bus is gone.
    fn start_sender(&self) -> Option<mpsc::Sender<LiveEvent>> {
        if !self.inner.store.shares_live_events() {
            return None;
        }
        let (tx, rx) = mpsc::channel(OUTBOX);
        tokio::spawn(send_batches(
            self.inner.store.clone(),
            self.inner.origin,
            rx,
        ));
        Some(tx)
    }
}

/// Sends what accumulated, batch by batch, until every sender is gone. Each event is
/// encoded once and appended to the batch's text while it fits.
async fn send_batches(store: Arc<dyn Store>, origin: Uuid, mut rx: mpsc::Receiver<LiveEvent>) {
    let head = batch_head(origin);
    let mut carried: Option<String> = None;
    loop {
        let first = match carried.take() {
            Some(e) => e,
            None => match rx.recv().await {
                Some(e) => encode(&e),
                None => return,
            },
        };
        if head.len() + first.len() + 2 > MAX_PAYLOAD {
            warn!(
                bytes = first.len(),
                "a live event is too large to send; dropped"
            );
            continue;
        }
        let mut payload = head.clone();
        payload.push_str(&first);
        while let Ok(next) = rx.try_recv() {
            let next = encode(&next);
            if payload.len() + 1 + next.len() + 2 > MAX_PAYLOAD {
                carried = Some(next);
                break;
            }
            payload.push(',');
            payload.push_str(&next);
        }
        payload.push_str("]}");
        match store.publish_live_events(&payload).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => warn!(error = %e, "live events could not be sent to other processes"),
        }
    }
}

/// The text of a [`Batch`] up to its first event; `]}` closes it.
fn batch_head(origin: Uuid) -> String {
    format!("{{\"origin\":\"{origin}\",\"events\":[")
}

fn encode(event: &LiveEvent) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// Relays other processes' batches to this process's subscribers while the bus lives,
/// listening again with backoff when the connection goes. `ready` hears of the first try.
async fn listen(bus: Weak<Inner>, ready: oneshot::Sender<()>) {
    let mut ready = Some(ready);
    let mut backoff = MIN_BACKOFF;
    loop {
        let Some(inner) = bus.upgrade() else { return };
        let store = inner.store.clone();
        let origin = inner.origin;
        drop(inner);
        let subscribed = store.subscribe_live_events().await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        match subscribed {
            Ok(None) => return,
            Ok(Some(mut payloads)) => {
                backoff = MIN_BACKOFF;
                while let Some(next) = payloads.next().await {
                    let Some(inner) = bus.upgrade() else { return };
                    match next {
                        Ok(payload) => relay(&inner, origin, &payload),
                        Err(e) => {
                            warn!(error = %e, "live events interrupted; listening again");
                            break;
                        }
                    }
                }
            }
            Err(e) => warn!(error = %e, retry_in = ?backoff, "cannot listen for live events"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn relay(inner: &Inner, origin: Uuid, payload: &str) {
    match serde_json::from_str::<Batch>(payload) {
        // Ours were delivered here when published.
        Ok(batch) if batch.origin == origin => {}
        Ok(batch) => {
            for event in batch.events {
                let _ = inner.local.send(Arc::new(event));
            }
        }
        Err(e) => warn!(error = %e, "ignoring a malformed live event batch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: usize) -> LiveEvent {
        LiveEvent::Step(StepEvent {
            organization_id: Uuid::nil(),
            workflow_id: Uuid::nil(),
            execution_id: Uuid::nil(),
            node_id: format!("node-{n}"),
            node_type: "transform.set".into(),
            status: StepStatus::Completed,
            attempt: 1,
            duration_ms: Some(3),
            error: None,
            at: DateTime::UNIX_EPOCH,
        })
    }

    #[test]
    fn events_are_tagged_by_kind() {
        let json = serde_json::to_value(step(1)).expect("serializes");
        assert_eq!(json["type"], "step");
        assert_eq!(json["status"], "completed");
        let back: LiveEvent = serde_json::from_value(json).expect("parses");
        assert_eq!(back, step(1));
    }

    #[test]
    fn a_batch_of_one_event_fits_a_notification() {
        let batch = format!("{}{}]}}", batch_head(Uuid::nil()), encode(&step(1)));
        assert!(batch.len() < MAX_PAYLOAD / 10);
        let parsed: Batch = serde_json::from_str(&batch).expect("a batch");
        assert_eq!((parsed.origin, parsed.events), (Uuid::nil(), vec![step(1)]));
    }
}
