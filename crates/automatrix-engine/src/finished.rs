//! Waiting for an execution to finish: workers of this process announce each execution they
//! finish; a waiter also re-reads the store now and then, for executions that workers of other
//! processes run (PostgreSQL).

use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

/// How often a waiter re-reads the store when no announcement came.
pub(crate) const RECHECK: Duration = Duration::from_millis(250);

/// Announcements of finished executions, to every waiter of the process.
#[derive(Clone)]
pub(crate) struct Finished {
    tx: broadcast::Sender<Uuid>,
}

impl Default for Finished {
    fn default() -> Self {
        // A waiter that falls this far behind re-reads the store instead.
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }
}

impl Finished {
    pub(crate) fn announce(&self, id: Uuid) {
        // Nobody listening is fine.
        let _ = self.tx.send(id);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.tx.subscribe()
    }
}

/// Resolves when `id` is announced, when announcements were missed (the caller re-reads the
/// store), or after [`RECHECK`].
pub(crate) async fn next_hint(rx: &mut broadcast::Receiver<Uuid>, id: Uuid, cap: Duration) {
    let announced = async {
        loop {
            match rx.recv().await {
                Ok(done) if done == id => return,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    tokio::select! {
        () = announced => {}
        () = tokio::time::sleep(RECHECK.min(cap)) => {}
    }
}
