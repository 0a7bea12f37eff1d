//! In-process cancellation: running executions by id, so a cancel request stops in-flight
//! steps at once instead of at the next checkpoint.
//!
//! One process may briefly run the same execution twice (its own lease expired and it claimed
//! the job again before the first run noticed); every run registers its own token and a cancel
//! reaches them all, and a run that ends removes only its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Runs = HashMap<Uuid, Vec<(u64, CancellationToken)>>;

#[derive(Clone, Default)]
pub struct CancelRegistry {
    running: Arc<Mutex<Runs>>,
    next: Arc<AtomicU64>,
}

impl CancelRegistry {
    /// Registers a run of an execution with a token that `parent` (the worker's shutdown
    /// interrupt) also cancels; the guard unregisters this run when dropped.
    pub fn register(
        &self,
        id: Uuid,
        parent: &CancellationToken,
    ) -> (CancellationToken, CancelGuard) {
        let token = parent.child_token();
        let run = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(id)
            .or_default()
            .push((run, token.clone()));
        (
            token,
            CancelGuard {
                registry: self.clone(),
                id,
                run,
            },
        )
    }

    /// Cancels every run of the execution in this process; false when none runs here.
    pub fn cancel(&self, id: Uuid) -> bool {
        self.lock()
            .get(&id)
            .map(|runs| runs.iter().for_each(|(_, t)| t.cancel()))
            .is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct CancelGuard {
    registry: CancelRegistry,
    id: Uuid,
    run: u64,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let mut running = self.registry.lock();
        if let Some(runs) = running.get_mut(&self.id) {
            runs.retain(|(run, _)| *run != self.run);
            if runs.is_empty() {
                running.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_run_unregisters_only_itself() {
        let registry = CancelRegistry::default();
        let root = CancellationToken::new();
        let id = Uuid::now_v7();
        let (first, first_guard) = registry.register(id, &root);
        let (second, _second_guard) = registry.register(id, &root);
        drop(first_guard);
        assert!(registry.cancel(id), "the second run is still registered");
        assert!(second.is_cancelled());
        assert!(!first.is_cancelled());
    }

    #[test]
    fn cancelling_an_execution_that_runs_elsewhere_is_a_no_op() {
        assert!(!CancelRegistry::default().cancel(Uuid::now_v7()));
    }
}
