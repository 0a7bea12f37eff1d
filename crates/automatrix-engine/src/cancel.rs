//! In-process cancellation: running executions by id, so a cancel request stops in-flight
//! steps at once instead of at the next checkpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Clone, Default)]
pub struct CancelRegistry {
    running: Arc<Mutex<HashMap<Uuid, CancellationToken>>>,
}

impl CancelRegistry {
    /// Registers a running execution with a token that `parent` (the worker's shutdown
    /// interrupt) also cancels; the guard unregisters it when dropped.
    pub fn register(
        &self,
        id: Uuid,
        parent: &CancellationToken,
    ) -> (CancellationToken, CancelGuard) {
        let token = parent.child_token();
        self.lock().insert(id, token.clone());
        (
            token,
            CancelGuard {
                registry: self.clone(),
                id,
            },
        )
    }

    /// Cancels the execution if it runs in this process.
    pub fn cancel(&self, id: Uuid) -> bool {
        self.lock()
            .get(&id)
            .map(CancellationToken::cancel)
            .is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, CancellationToken>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct CancelGuard {
    registry: CancelRegistry,
    id: Uuid,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}
