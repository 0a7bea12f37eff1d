//! Queue events: what the queue tells the workers of every process sharing the database, so
//! they react at once instead of at their next poll or checkpoint.
//!
//! Events are wake-up calls, never the source of truth: a worker that missed one (it was
//! reconnecting, or not yet listening) still finds the job by polling and still notices a
//! cancellation at its next checkpoint. That is why delivery may be lossy and why a store
//! without cross-process events (SQLite, one process) offers none.

use futures::stream::BoxStream;
use uuid::Uuid;

use crate::StoreResult;

/// One event of a [`QueueEvents`] subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueEvent {
    /// A job became due now: an execution was created (or queued as an error workflow),
    /// retried, decided on, or given back by a worker that shut down.
    JobDue,
    /// An execution was cancelled; a worker running it stops its in-flight steps.
    ExecutionCancelled(Uuid),
    /// The subscription lost its connection and listens again on a new one; events sent in
    /// between are lost, so a worker should look for due jobs now.
    Reconnected,
}

/// A live subscription, from [`QueueStore::subscribe_queue_events`](crate::QueueStore::subscribe_queue_events).
/// It ends, or yields an error and then ends, when it cannot go on; subscribe again.
pub type QueueEvents = BoxStream<'static, StoreResult<QueueEvent>>;

/// Live events from every process, as the payloads [`LiveStore::publish_live_events`] sent
/// (see [`LiveStore::subscribe_live_events`]). Like queue events, lossy: a reconnection drops
/// what was sent meanwhile.
///
/// [`LiveStore::publish_live_events`]: crate::LiveStore::publish_live_events
/// [`LiveStore::subscribe_live_events`]: crate::LiveStore::subscribe_live_events
pub type LiveEvents = BoxStream<'static, StoreResult<String>>;
