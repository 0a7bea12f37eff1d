//! Shared handler state.

use std::sync::Arc;

use automatrix_ai::Gateway;
use automatrix_engine::Engine;
use automatrix_store::Store;

use crate::ApiConfig;
use crate::hooks::RateLimits;
use crate::sso::oidc::OidcClient;

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<ApiConfig>,
    /// The webhooks' rate-limit buckets.
    pub hook_limits: Arc<RateLimits>,
    /// The process's AI gateway (the AI nodes share it): the proxy calls through it, so
    /// circuit breakers see every call.
    pub ai: Arc<Gateway>,
    /// The OpenID Connect relying party, when single sign-on is configured (its discovery
    /// and keys are cached for the process).
    pub sso: Option<Arc<OidcClient>>,
}

impl AppState {
    pub fn new(engine: Engine, config: ApiConfig, ai: Arc<Gateway>) -> Self {
        Self {
            engine,
            hook_limits: Arc::new(RateLimits::default()),
            sso: config.oidc.clone().map(|c| Arc::new(OidcClient::new(c))),
            config: Arc::new(config),
            ai,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }
}
