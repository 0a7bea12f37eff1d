//! The application under test.

use std::sync::Arc;
use std::time::Duration;

use automatrix_ai::{Gateway, GatewayConfig, register_nodes};
use automatrix_api::{ApiConfig, AppState, AuthConfig};
use automatrix_core::NodeRegistry;
use automatrix_core::expr::{Expressions, Limits};
use automatrix_engine::{Engine, ExecutorConfig, Vault, Worker, WorkerConfig};
use automatrix_nodes::{HttpPolicy, NodesConfig, register_builtin};
use automatrix_store::Store;
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::TempDatabase;
use automatrix_store_sqlite::SqliteStore;
use tokio_util::sync::CancellationToken;

/// Serves `state` on a fresh port: its base URL, what stops it, and its task.
async fn start_server(state: AppState) -> (String, CancellationToken, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        automatrix_api::serve(listener, state, async move { stop.cancelled().await })
            .await
            .expect("server");
    });
    (base, shutdown, server)
}

/// The master secret of test servers.
pub const TEST_SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum Db {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(TempDatabase),
}

/// The AI gateway settings of test servers: short waits (a test of retries and fallback
/// must not take seconds), a seeded generator (weighted draws repeat), the default breaker.
pub fn test_gateway_config() -> GatewayConfig {
    GatewayConfig {
        timeout: Duration::from_secs(2),
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        retry_after_cap: Duration::from_secs(1),
        seed: Some(42),
        ..GatewayConfig::default()
    }
}

pub struct TestApp {
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
    pub engine: Engine,
    pub worker: Worker,
    pub auth: AuthConfig,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<()>,
    db: Option<Db>,
}

impl TestApp {
    /// Starts the server on a fresh database. `None` (after saying why) when the backend is
    /// PostgreSQL and `AUTOMATRIX_TEST_POSTGRES_URL` is unset.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// [`spawn`](Self::spawn), with the HTTP layer's settings changed by `configure` first.
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut ApiConfig),
    ) -> Option<Self> {
        Self::spawn_configured_at(backend, |c, _| configure(c)).await
    }

    /// [`spawn_with`](Self::spawn_with), where `configure` also gets the server's
    /// base URL (`http://127.0.0.1:PORT`), e.g. for the SSO redirect URI.
    pub async fn spawn_configured_at(
        backend: Backend,
        configure: impl FnOnce(&mut ApiConfig, &str),
    ) -> Option<Self> {
        let (store, db): (Arc<dyn Store>, Db) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                (
                    Arc::new(SqliteStore::open(&url).await.expect("open sqlite")),
                    Db::Sqlite(dir),
                )
            }
            Backend::Postgres => {
                let Some(temp) = TempDatabase::create().await else {
                    eprintln!("skipped: AUTOMATRIX_TEST_POSTGRES_URL is not set");
                    return None;
                };
                (
                    Arc::new(PgStore::open(&temp.url).await.expect("open postgres")),
                    Db::Postgres(temp),
                )
            }
        };
        Some(Self::start(backend, store, Some(db), configure).await)
    }

    /// The server on the PostgreSQL database at `url` (migrated here), e.g. one of a
    /// [`PrivateCluster`](crate::PrivateCluster). Stopping it leaves the database alone.
    pub async fn spawn_on_postgres(url: &str) -> Self {
        let store = PgStore::open(url).await.expect("open postgres");
        Self::start(Backend::Postgres, Arc::new(store), None, |_, _| {}).await
    }

    async fn start(
        backend: Backend,
        store: Arc<dyn Store>,
        db: Option<Db>,
        configure: impl FnOnce(&mut ApiConfig, &str),
    ) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut registry = NodeRegistry::new();
        register_builtin(
            &mut registry,
            &NodesConfig {
                http: HttpPolicy {
                    allow_private: true,
                    allow_hosts: Vec::new(),
                },
            },
        );
        let ai = Arc::new(Gateway::new(test_gateway_config()).expect("AI gateway"));
        register_nodes(&mut registry, &ai);
        let limits = Limits {
            expression_timeout: Duration::from_millis(500),
            ..Limits::default()
        };
        let engine = Engine::new(
            store,
            Arc::new(registry),
            Expressions::new(2, limits),
            ExecutorConfig::default(),
            Vault::from_master_secret(TEST_SECRET),
        );
        engine
            .load_builtin_templates(automatrix_engine::BUILTIN_TEMPLATES)
            .await
            .expect("built-in templates");
        let worker = engine.worker("test-worker", WorkerConfig::default());
        let auth = AuthConfig::from_master_secret(TEST_SECRET);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut api = ApiConfig::new(auth.clone());
        configure(&mut api, &base);
        let state = AppState::new(engine.clone(), api, ai);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            automatrix_api::serve(listener, state, async move { stop.cancelled().await })
                .await
                .expect("server");
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Self {
            backend,
            base,
            http,
            engine,
            worker,
            auth,
            shutdown,
            server,
            db,
        }
    }

    /// Another API server on this app's database, with its own in-process state (as another
    /// `serve` process would have) and settings changed by `configure`. Stopping it leaves the
    /// database alone.
    pub async fn spawn_sibling(&self, configure: impl FnOnce(&mut ApiConfig)) -> Self {
        let mut api = ApiConfig::new(self.auth.clone());
        configure(&mut api);
        let ai = Arc::new(Gateway::new(test_gateway_config()).expect("AI gateway"));
        let (base, shutdown, server) =
            start_server(AppState::new(self.engine.clone(), api, ai)).await;
        Self {
            backend: self.backend,
            base,
            http: self.http.clone(),
            engine: self.engine.clone(),
            worker: self.engine.worker("test-sibling", WorkerConfig::default()),
            auth: self.auth.clone(),
            shutdown,
            server,
            db: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        self.engine.store()
    }

    /// Runs due jobs until none is left and none is running; returns how many ran.
    ///
    /// Several at a time (the worker's concurrency, 4), as a served worker does: a
    /// `flow.subworkflow` step waits inside its job for the called workflow's execution, which
    /// must run in another slot meanwhile. The worker wakes when such a job is queued, so this
    /// needs no sleeps.
    pub async fn run_jobs(&self) -> usize {
        self.worker.process_until_idle().await.expect("worker")
    }

    /// Stops the server and drops the database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let _ = (&mut self.server).await;
        if let Some(Db::Postgres(temp)) = self.db.take() {
            temp.drop_database().await;
        }
    }
}
