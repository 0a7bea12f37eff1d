//! Shared handler state.

use std::sync::Arc;

use automatrix_engine::Engine;
use automatrix_store::Store;

use crate::ApiConfig;

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<ApiConfig>,
}

impl AppState {
    pub fn new(engine: Engine, config: ApiConfig) -> Self {
        Self {
            engine,
            config: Arc::new(config),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }
}
