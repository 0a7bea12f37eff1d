//! Compiled definitions by (workflow, version). Versions are immutable, so an entry never goes
//! stale; the cache only bounds its size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use automatrix_core::ValidatedWorkflow;
use uuid::Uuid;

const CAPACITY: usize = 512;

type Entries = HashMap<(Uuid, i64), Arc<ValidatedWorkflow>>;

#[derive(Clone, Default)]
pub struct DefinitionCache {
    entries: Arc<Mutex<Entries>>,
}

impl DefinitionCache {
    pub fn get(&self, workflow: Uuid, version: i64) -> Option<Arc<ValidatedWorkflow>> {
        self.lock().get(&(workflow, version)).cloned()
    }

    pub fn insert(&self, workflow: Uuid, version: i64, wf: Arc<ValidatedWorkflow>) {
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert((workflow, version), wf);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
