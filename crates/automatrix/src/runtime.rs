//! Wiring for the long-running modes: tracing, the store chosen by URL scheme, the node
//! registry, the engine, the HTTP server and workers, and signal-driven shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use automatrix_ai::{Gateway, GatewayConfig, register_nodes};
use automatrix_api::{ApiConfig, AppState, AuthConfig, MetricsToken};
use automatrix_core::NodeRegistry;
use automatrix_core::expr::{Expressions, Limits};
use automatrix_engine::{
    Engine, ExecutorConfig, RetentionPolicy, Vault, Worker, WorkerConfig, run_retention,
};
use automatrix_nodes::{HttpPolicy, NodesConfig, register_builtin};
use automatrix_store::Store;
use automatrix_store_postgres::PgStore;
use automatrix_store_sqlite::SqliteStore;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::secret::{self, Secret};
use crate::telemetry;

/// Whether the database URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens (and migrates) the store the URL names.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if is_postgres(url) {
        Ok(Arc::new(
            PgStore::open(url).await.context("opening PostgreSQL")?,
        ))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::open(url).await.context("opening SQLite")?,
        ))
    } else {
        anyhow::bail!("unsupported database URL scheme (use sqlite:// or postgres://)")
    }
}

/// The process's AI gateway: one, so its circuit breakers see every AI call of the process.
pub fn gateway() -> anyhow::Result<Arc<Gateway>> {
    Ok(Arc::new(
        Gateway::new(GatewayConfig::default()).context("starting the AI gateway")?,
    ))
}

/// The node registry with every built-in node (under the configured outbound HTTP policy) and
/// the AI nodes (calling through `ai`).
pub fn registry(config: &Config, ai: &Arc<Gateway>) -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    let http = HttpPolicy {
        allow_private: config.http_allow_private,
        allow_hosts: config.http_allow_hosts.clone(),
    };
    register_builtin(&mut registry, &NodesConfig { http });
    register_nodes(&mut registry, ai);
    registry
}

pub fn expressions() -> Expressions {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    Expressions::new(threads, Limits::default())
}

/// The engine of a `serve` or `worker` process. Its vault is keyed by the master secret:
/// every process sharing a database must share `AUTOMATRIX_SECRET_KEY` to open credentials.
async fn engine(config: &Config, secret: &Secret, ai: &Arc<Gateway>) -> anyhow::Result<Engine> {
    let store = open_store(&config.database_url()).await?;
    Ok(Engine::new(
        store,
        Arc::new(registry(config, ai)),
        expressions(),
        ExecutorConfig::default(),
        Vault::from_master_secret(secret.bytes()),
    ))
}

fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::now_v7().simple().to_string()[24..]
    )
}

/// The workers of this process, or none with `concurrency` 0.
fn workers(engine: &Engine, config: &Config, concurrency: usize) -> Option<Worker> {
    (concurrency > 0).then(|| {
        engine.worker(
            worker_id(),
            WorkerConfig {
                concurrency,
                lease: Duration::from_secs(config.lease_secs),
                poll_interval: Duration::from_millis(config.poll_ms),
                drain_timeout: Duration::from_secs(config.drain_secs),
            },
        )
    })
}

/// Starts scheduled workflows on their ticks, until shutdown. Every process runs one: the
/// store lets exactly one of them take each tick.
fn spawn_scheduler(engine: &Engine, shutdown: &CancellationToken) {
    tokio::spawn(engine.clone().run_scheduler(shutdown.clone()));
}

/// Prunes finished executions past the retention age, until shutdown (not at all with 0 days).
fn spawn_retention(engine: &Engine, config: &Config, shutdown: &CancellationToken) {
    if config.retention_days > 0 {
        let policy = RetentionPolicy::days(config.retention_days);
        tokio::spawn(run_retention(
            engine.store().clone(),
            policy,
            shutdown.clone(),
        ));
    }
}

/// The HTTP layer's settings shared by the API and the metrics listener.
fn base_api_config(config: &Config, secret: &Secret) -> ApiConfig {
    ApiConfig {
        metrics_token: config
            .metrics_token
            .as_ref()
            .map(|t| MetricsToken::new(t.as_str())),
        ..ApiConfig::new(AuthConfig::from_master_secret(secret.bytes()))
    }
}

/// Serves `GET /metrics` and the health probes on `metrics_bind`, if it is set, until
/// shutdown. Binds before returning, so a bad address stops the start.
async fn spawn_probes(
    config: &Config,
    state: &AppState,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = config.metrics_bind else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener {addr}"))?;
    tracing::info!(addr = %listener.local_addr()?, "serving /metrics and the health probes");
    let stop = shutdown.clone();
    Ok(Some(tokio::spawn(automatrix_api::serve_probes(
        listener,
        state.clone(),
        async move { stop.cancelled().await },
    ))))
}

/// Runs `mode` with logs and traces set up, and flushes the traces when it ends.
async fn traced(
    config: Config,
    mode: impl AsyncFnOnce(Config) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&config)?;
    let ended = mode(config).await;
    telemetry.shutdown().await;
    ended
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    traced(config, serve_traced).await
}

async fn serve_traced(config: Config) -> anyhow::Result<()> {
    let secret = secret::load_or_create(config.secret_key.as_ref(), &config.data_dir)?;
    let ai = gateway()?;
    let engine = engine(&config, &secret, &ai).await?;
    let api = ApiConfig {
        webhook_max_bytes: usize::try_from(config.webhook_max_bytes).unwrap_or(usize::MAX),
        cors_origins: config.cors_origins.clone(),
        api_rate_limit: config.api_rate()?.map(|(requests, per_seconds)| {
            automatrix_api::RateLimit {
                requests,
                per_seconds,
            }
        }),
        trust_proxy: config.trust_proxy,
        shared_login_limits: config.login_limits_shared,
        oidc: config.oidc()?,
        ..base_api_config(&config, &secret)
    };
    let loaded = engine
        .load_builtin_templates(automatrix_engine::BUILTIN_TEMPLATES)
        .await
        .map_err(anyhow::Error::msg)?;
    tracing::debug!(templates = loaded, "built-in templates loaded");
    let state = AppState::new(engine.clone(), api, ai);
    let shutdown = shutdown_signal();
    let workers = workers(&engine, &config, config.workers).map(|worker| {
        if config.webhook_inline > 0 {
            let at_once = usize::try_from(config.webhook_inline).unwrap_or(usize::MAX);
            engine.run_here(&worker, at_once);
        }
        tokio::spawn(worker.run(shutdown.clone()))
    });
    spawn_scheduler(&engine, &shutdown);
    spawn_retention(&engine, &config, &shutdown);
    let probes = spawn_probes(&config, &state, &shutdown).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    tracing::info!(addr = %listener.local_addr()?, database = engine.store().backend(), workers = config.workers, "AutoMatrix is listening");
    let stop = shutdown.clone();
    automatrix_api::serve(listener, state, async move { stop.cancelled().await }).await?;
    if let Some(w) = workers {
        let _ = w.await;
    }
    if let Some(p) = probes {
        let _ = p.await;
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn worker(config: Config) -> anyhow::Result<()> {
    traced(config, worker_traced).await
}

async fn worker_traced(config: Config) -> anyhow::Result<()> {
    let secret = secret::load_or_create(config.secret_key.as_ref(), &config.data_dir)?;
    let ai = gateway()?;
    let engine = engine(&config, &secret, &ai).await?;
    let shutdown = shutdown_signal();
    let state = AppState::new(engine.clone(), base_api_config(&config, &secret), ai);
    let probes = spawn_probes(&config, &state, &shutdown).await?;
    tracing::info!(
        database = engine.store().backend(),
        workers = config.workers.max(1),
        "worker started"
    );
    spawn_scheduler(&engine, &shutdown);
    spawn_retention(&engine, &config, &shutdown);
    if let Some(worker) = workers(&engine, &config, config.workers.max(1)) {
        worker.run(shutdown.clone()).await;
    }
    if let Some(p) = probes {
        shutdown.cancel();
        let _ = p.await;
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    telemetry::init_logs(&config);
    let store = open_store(&config.database_url()).await?;
    tracing::info!(database = store.backend(), "migrations applied");
    Ok(())
}

/// Cancelled on Ctrl-C or SIGTERM.
fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        t.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}
