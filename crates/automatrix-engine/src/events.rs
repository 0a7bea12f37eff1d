//! Relaying the store's queue events to this process's workers: a job became due somewhere
//! (wake a worker now instead of at its next poll), an execution was cancelled somewhere
//! (cancel its in-flight steps now if it runs here, instead of at its next checkpoint).
//!
//! Events only make things faster: polling and the checkpoint's status check still find
//! everything. So a broken subscription is logged and retried with backoff while the worker
//! keeps polling, and after every (re)subscription the worker looks for work at once, because
//! events sent in between were lost.

use std::sync::Arc;
use std::time::Duration;

use automatrix_store::{QueueEvent, Store};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::cancel::CancelRegistry;

/// The first wait before subscribing again; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where events go.
pub(crate) struct Relay {
    pub store: Arc<dyn Store>,
    pub wake: Arc<Notify>,
    pub cancels: CancelRegistry,
}

impl Relay {
    /// Relays until `stop`, or returns at once when the store has no cross-process events.
    pub(crate) async fn run(self, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let subscribed = tokio::select! {
                s = self.store.subscribe_queue_events() => s,
                () = stop.cancelled() => return,
            };
            match subscribed {
                Ok(None) => return,
                Ok(Some(mut events)) => {
                    info!("listening for queue events");
                    backoff = MIN_BACKOFF;
                    self.wake.notify_one();
                    loop {
                        let next = tokio::select! {
                            next = events.next() => next,
                            () = stop.cancelled() => return,
                        };
                        match next {
                            Some(Ok(event)) => self.deliver(event),
                            Some(Err(e)) => {
                                warn!(error = %e, "queue events interrupted; polling meanwhile");
                                break;
                            }
                            None => {
                                warn!("queue events ended; polling meanwhile");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "cannot listen for queue events; polling meanwhile");
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn deliver(&self, event: QueueEvent) {
        match event {
            QueueEvent::JobDue => self.wake.notify_one(),
            QueueEvent::Reconnected => {
                info!("queue events reconnected; looking for work missed meanwhile");
                self.wake.notify_one();
            }
            QueueEvent::ExecutionCancelled(id) => {
                if self.cancels.cancel(id) {
                    info!(execution_id = %id, "execution cancelled; stopping its steps");
                }
            }
        }
    }
}
