//! Webhook lookups: the workflow behind a token, remembered for [`FRESH_FOR`] so that a busy
//! webhook does not read its workflow on every call. A change made through this process (an
//! update or a delete) forgets the workflow at once; one made through another process is seen
//! here within [`FRESH_FOR`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automatrix_store::Workflow;
use uuid::Uuid;

/// How long a lookup is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// Tokens remembered at most; unknown tokens count too (a flood of them is answered from
/// here), and a full cache starts over.
const CAPACITY: usize = 4096;

type Entries = HashMap<String, (Instant, Option<Arc<Workflow>>)>;

#[derive(Clone, Default)]
pub(crate) struct WebhookCache {
    entries: Arc<Mutex<Entries>>,
}

impl WebhookCache {
    /// The remembered lookup of `token`, if still fresh at `now`: `Some(None)` for a token
    /// that named no workflow.
    pub fn get(&self, token: &str, now: Instant) -> Option<Option<Arc<Workflow>>> {
        self.lock()
            .get(token)
            .filter(|(at, _)| now.duration_since(*at) < FRESH_FOR)
            .map(|(_, workflow)| workflow.clone())
    }

    pub fn insert(&self, token: &str, workflow: Option<Arc<Workflow>>, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), (now, workflow));
    }

    /// Forgets every lookup that found `workflow`.
    pub fn forget(&self, workflow: Uuid) {
        self.lock()
            .retain(|_, (_, found)| found.as_ref().is_none_or(|w| w.id != workflow));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use automatrix_store::__private::sqlx::types::Json;
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn workflow() -> Arc<Workflow> {
        Arc::new(Workflow {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            name: "Leads".into(),
            description: String::new(),
            definition: Json(json!({})),
            version: 1,
            is_active: true,
            webhook_token: Some("t1".into()),
            created_by: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        })
    }

    #[test]
    fn a_lookup_is_reused_while_fresh_and_forgotten_on_a_change() {
        let cache = WebhookCache::default();
        let t0 = Instant::now();
        let wf = workflow();
        cache.insert("t1", Some(wf.clone()), t0);
        cache.insert("nope", None, t0);
        assert_eq!(cache.get("t1", t0).flatten().map(|w| w.id), Some(wf.id));
        assert!(
            matches!(cache.get("nope", t0), Some(None)),
            "unknown, remembered"
        );
        assert!(cache.get("t1", t0 + FRESH_FOR).is_none(), "stale");
        cache.forget(wf.id);
        assert!(cache.get("t1", t0).is_none());
        assert!(cache.get("nope", t0).is_some(), "other lookups stay");
    }
}
