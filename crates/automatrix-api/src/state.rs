//! Shared handler state.

use std::sync::Arc;

use automatrix_ai::Gateway;
use automatrix_engine::Engine;
use automatrix_store::Store;

use crate::ApiConfig;
use crate::auth::AuthLimiter;
use crate::limits::TokenBuckets;
use crate::sso::oidc::OidcClient;

#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<ApiConfig>,
    /// The webhooks' rate-limit buckets, by workflow.
    pub hook_limits: Arc<TokenBuckets<uuid::Uuid>>,
    /// Authenticated requests, by API key or user (`ApiConfig::api_rate_limit`).
    pub api_limits: Arc<TokenBuckets<uuid::Uuid>>,
    /// Failed logins and MFA codes, by account, client IP and user.
    pub auth_limits: Arc<AuthLimiter>,
    /// The process's AI gateway (the AI nodes share it): the proxy calls through it, so
    /// circuit breakers see every call.
    pub ai: Arc<Gateway>,
    /// The OpenID Connect relying party, when single sign-on is configured (its discovery
    /// and keys are cached for the process).
    pub sso: Option<Arc<OidcClient>>,
}

impl AppState {
    pub fn new(engine: Engine, config: ApiConfig, ai: Arc<Gateway>) -> Self {
        let auth_limits = Arc::new(if config.shared_login_limits {
            AuthLimiter::shared(config.login_limits, engine.store().clone())
        } else {
            AuthLimiter::new(config.login_limits)
        });
        Self {
            engine,
            auth_limits,
            hook_limits: Arc::new(TokenBuckets::default()),
            api_limits: Arc::new(TokenBuckets::default()),
            sso: config.oidc.clone().map(|c| Arc::new(OidcClient::new(c))),
            config: Arc::new(config),
            ai,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }
}
