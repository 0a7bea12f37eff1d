//! In-process cancellation: running executions by id, so a cancel request stops in-flight
//! steps at once instead of at the next checkpoint.
//!
//! One process may briefly run the same execution twice (its own lease expired and it claimed
//! the job again before the first run noticed); every run registers its own token and a cancel
//! reaches them all, and a run that ends removes only its own.
//!
//! A run registers right after its claim has started the execution, so a cancel can commit and
//! arrive in between. The registry remembers the last [`RECENT`] cancels that found no run, and
//! a run registering for one of them starts cancelled. (A cancelled execution never runs again,
//! so remembering one longer than needed costs nothing.)

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How many cancels that found no run the registry remembers.
pub const RECENT: usize = 1024;

#[derive(Default)]
struct Runs {
    running: HashMap<Uuid, Vec<(u64, CancellationToken)>>,
    /// Cancels that found no run, oldest first.
    recent: VecDeque<Uuid>,
}

#[derive(Clone, Default)]
pub struct CancelRegistry {
    runs: Arc<Mutex<Runs>>,
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
        let mut runs = self.lock();
        if runs.recent.contains(&id) {
            token.cancel();
        }
        runs.running
            .entry(id)
            .or_default()
            .push((run, token.clone()));
        drop(runs);
        (
            token,
            CancelGuard {
                registry: self.clone(),
                id,
                run,
            },
        )
    }

    /// Cancels every run of the execution in this process; false when none runs here (then a
    /// run that registers soon after starts cancelled).
    pub fn cancel(&self, id: Uuid) -> bool {
        let mut runs = self.lock();
        if let Some(tokens) = runs.running.get(&id) {
            tokens.iter().for_each(|(_, t)| t.cancel());
            return true;
        }
        if runs.recent.len() == RECENT {
            runs.recent.pop_front();
        }
        runs.recent.push_back(id);
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.runs
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
        let mut runs = self.registry.lock();
        if let Some(tokens) = runs.running.get_mut(&self.id) {
            tokens.retain(|(run, _)| *run != self.run);
            if tokens.is_empty() {
                runs.running.remove(&self.id);
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
    fn a_run_that_registers_after_its_cancel_starts_cancelled() {
        let registry = CancelRegistry::default();
        let root = CancellationToken::new();
        let (id, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(!registry.cancel(id), "nothing runs it here yet");
        let (late, _guard) = registry.register(id, &root);
        assert!(late.is_cancelled());
        let (unrelated, _guard) = registry.register(other, &root);
        assert!(!unrelated.is_cancelled());
    }

    #[test]
    fn only_the_latest_cancels_are_remembered() {
        let registry = CancelRegistry::default();
        let root = CancellationToken::new();
        let oldest = Uuid::now_v7();
        registry.cancel(oldest);
        for _ in 0..RECENT {
            registry.cancel(Uuid::now_v7());
        }
        let (token, _guard) = registry.register(oldest, &root);
        assert!(
            !token.is_cancelled(),
            "forgotten after {RECENT} newer cancels"
        );
    }
}
