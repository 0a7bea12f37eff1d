//! Queue events over `LISTEN/NOTIFY`: the shared SQL sends them with `pg_notify` inside the
//! transaction that makes a job due or cancels an execution (the [`Dialect`] statements of
//! [`PgStore`]); [`subscribe`] listens on one connection of the store's pool.
//!
//! Notifications are scoped to the database, so only processes sharing it hear them.
//!
//! [`Dialect`]: automatrix_store::sql::Dialect
//! [`PgStore`]: crate::PgStore

use automatrix_store::{LiveEvents, QueueEvent, QueueEvents, StoreError, StoreResult};
use futures::StreamExt;
use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};
use uuid::Uuid;

/// The channel of [`QueueEvent::JobDue`] (empty payload).
pub const JOBS_CHANNEL: &str = "automatrix_jobs";
/// The channel of [`QueueEvent::ExecutionCancelled`] (payload: the execution id).
pub const CANCELS_CHANNEL: &str = "automatrix_cancels";

/// The channel of live events (payload: what the engine published, a JSON batch).
pub const LIVE_CHANNEL: &str = "automatrix_live";

/// `NOTIFY` on [`JOBS_CHANNEL`], as a statement that runs inside a transaction.
pub(crate) const NOTIFY_JOB_DUE: &str = "select pg_notify('automatrix_jobs', '')";
/// `NOTIFY` on [`CANCELS_CHANNEL`]; `$1` is the execution id as text.
pub(crate) const NOTIFY_EXECUTION_CANCELLED: &str = "select pg_notify('automatrix_cancels', $1)";

/// `NOTIFY` on [`LIVE_CHANNEL`] outside any transaction; `$1` is the payload.
pub(crate) const NOTIFY_LIVE: &str = "select pg_notify('automatrix_live', $1)";

/// Listens on both channels with a connection taken from `pool` for as long as the stream
/// lives (dropping it runs `UNLISTEN *` and gives the connection back).
///
/// A lost connection is replaced at once by the listener, which listens again and yields
/// [`QueueEvent::Reconnected`]; when that fails, the stream yields the error and ends.
pub(crate) async fn subscribe(pool: &PgPool) -> StoreResult<QueueEvents> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([JOBS_CHANNEL, CANCELS_CHANNEL]).await?;
    let events = futures::stream::unfold(Some(listener), |listener| async move {
        let mut listener = listener?;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(event) = decode(&notification) {
                        return Some((Ok(event), Some(listener)));
                    }
                    tracing::warn!(
                        channel = notification.channel(),
                        "ignoring a malformed queue notification"
                    );
                }
                Ok(None) => return Some((Ok(QueueEvent::Reconnected), Some(listener))),
                Err(e) => return Some((Err(StoreError::from(e)), None)),
            }
        }
    });
    Ok(events.boxed())
}

/// Listens on [`LIVE_CHANNEL`] with a connection taken from `pool` while the stream lives.
/// A lost connection is replaced by the listener at once (what was sent meanwhile is lost);
/// when that fails, the stream yields the error and ends.
pub(crate) async fn subscribe_live(pool: &PgPool) -> StoreResult<LiveEvents> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(LIVE_CHANNEL).await?;
    let events = futures::stream::unfold(Some(listener), |listener| async move {
        let mut listener = listener?;
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    let payload = notification.payload().to_owned();
                    return Some((Ok(payload), Some(listener)));
                }
                // Reconnected: nothing to tell, the gap is lost.
                Ok(None) => {}
                Err(e) => return Some((Err(StoreError::from(e)), None)),
            }
        }
    });
    Ok(events.boxed())
}

fn decode(notification: &PgNotification) -> Option<QueueEvent> {
    match notification.channel() {
        JOBS_CHANNEL => Some(QueueEvent::JobDue),
        CANCELS_CHANNEL => notification
            .payload()
            .parse::<Uuid>()
            .ok()
            .map(QueueEvent::ExecutionCancelled),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notify_statements_use_the_channels_listened_on() {
        assert!(NOTIFY_JOB_DUE.contains(&format!("'{JOBS_CHANNEL}'")));
        assert!(NOTIFY_EXECUTION_CANCELLED.contains(&format!("'{CANCELS_CHANNEL}'")));
        assert!(NOTIFY_LIVE.contains(&format!("'{LIVE_CHANNEL}'")));
    }
}
