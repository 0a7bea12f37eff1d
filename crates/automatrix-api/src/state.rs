//! Shared handler state.

use std::sync::Arc;

use automatrix_engine::Engine;
use automatrix_store::Store;

use crate::ApiConfig;
use crate::hooks::RateLimits;

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<ApiConfig>,
    /// The webhooks' rate-limit buckets.
    pub hook_limits: Arc<RateLimits>,
}

impl AppState {
    pub fn new(engine: Engine, config: ApiConfig) -> Self {
        Self {
            engine,
            config: Arc::new(config),
            hook_limits: Arc::new(RateLimits::default()),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }
}
