//! Retention: finished executions (and their step logs) older than the configured age are
//! deleted in small batches, so the database never grows forever and no long delete blocks
//! the workers; then the space is handed back (SQLite's incremental vacuum).

use std::sync::Arc;
use std::time::Duration;

use automatrix_store::{Store, StoreError};
use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

#[derive(Clone, Debug)]
pub struct RetentionPolicy {
    /// How long finished executions are kept.
    pub keep_for: chrono::Duration,
    /// How often to prune.
    pub every: Duration,
    /// Executions deleted per statement.
    pub batch: u32,
}

impl RetentionPolicy {
    pub fn days(days: u32) -> Self {
        Self {
            keep_for: chrono::Duration::days(i64::from(days)),
            every: Duration::from_secs(600),
            batch: 500,
        }
    }
}

/// Prunes everything past the policy now; returns how many executions went.
pub async fn prune_once(store: &dyn Store, policy: &RetentionPolicy) -> Result<u64, StoreError> {
    let cutoff = Utc::now() - policy.keep_for;
    let mut total = 0;
    loop {
        let n = store.prune_executions(cutoff, policy.batch).await?;
        total += n;
        if n < u64::from(policy.batch) {
            break;
        }
        // Let other writers in between batches.
        tokio::task::yield_now().await;
    }
    if total > 0 {
        store.reclaim_space().await?;
    }
    Ok(total)
}

/// Prunes on the policy's period until `shutdown`.
pub async fn run_retention(
    store: Arc<dyn Store>,
    policy: RetentionPolicy,
    shutdown: CancellationToken,
) {
    loop {
        match prune_once(&*store, &policy).await {
            Ok(0) => {}
            Ok(n) => info!(executions = n, "retention: pruned finished executions"),
            Err(e) => warn!(error = %e, "retention: pruning failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(policy.every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
