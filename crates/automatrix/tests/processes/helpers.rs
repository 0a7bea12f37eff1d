//! A [`Cluster`]: a data directory, a database (SQLite in the directory, or a fresh
//! PostgreSQL database), the `automatrix` processes started on it, an HTTP client logged in to
//! the API, and a connection to check the tables.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use automatrix_store_postgres::testing::TempDatabase;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The password of every user of [`Cluster::sign_up`].
/// The password of every account [`Cluster::sign_up`] makes.
pub const PASSWORD: &str = "correct horse battery";

/// How long any one wait may take before the test fails.
pub const BOUND: Duration = Duration::from_secs(60);

/// A test's database: SQLite in the data directory, or its own PostgreSQL database.
enum Database {
    Sqlite,
    Postgres(TempDatabase),
}

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// One started process and where its stderr goes.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Which process of a [`Cluster`].
#[derive(Clone, Copy, Debug)]
pub struct ProcessId(usize);

/// A row of `credentials` as [`Cluster::sealed_credentials`] reads it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SealedRow {
    pub id: uuid::Uuid,
    pub organization_id: uuid::Uuid,
    pub kind: String,
    pub sealed: Vec<u8>,
}

pub struct Cluster {
    dir: tempfile::TempDir,
    database: Option<Database>,
    pool: OnceCell<Pool>,
    processes: Vec<Process>,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT` of the last `serve` started.
    api: Option<String>,
    token: Option<String>,
}

impl Cluster {
    pub fn sqlite() -> Self {
        Self::new(Database::Sqlite)
    }

    /// `None` (after saying so) when `AUTOMATRIX_TEST_POSTGRES_URL` is unset.
    pub async fn postgres() -> Option<Self> {
        Some(Self::new(Database::Postgres(TempDatabase::create().await?)))
    }

    fn new(database: Database) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            database: Some(database),
            pool: OnceCell::new(),
            processes: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            api: None,
            token: None,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.database, Some(Database::Postgres(_)))
    }

    fn command(&self, name: &str, env: &[(&str, &str)]) -> (Command, PathBuf) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_automatrix"));
        for var in [
            "DATABASE_URL",
            "AUTOMATRIX_BIND",
            "AUTOMATRIX_WORKERS",
            "AUTOMATRIX_CONFIG",
            "AUTOMATRIX_LEASE_SECS",
            "AUTOMATRIX_DRAIN_SECS",
            "AUTOMATRIX_POLL_MS",
            "AUTOMATRIX_NEW_SECRET_KEY",
        ] {
            c.env_remove(var);
        }
        c.env("AUTOMATRIX_DATA_DIR", self.dir.path())
            .env(
                "AUTOMATRIX_SECRET_KEY",
                "processes-test-secret-0123456789abcdef",
            )
            .env("AUTOMATRIX_HTTP_ALLOW_PRIVATE", "1")
            .env("AUTOMATRIX_LOG_FORMAT", "text")
            // `claimed a job` lines (debug) let a test count each worker's claims.
            .env("RUST_LOG", "info,sqlx=warn,automatrix_engine::worker=debug");
        if let Some(Database::Postgres(db)) = &self.database {
            c.env("DATABASE_URL", &db.url);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        c.stdout(Stdio::null()).stderr(file);
        (c, log)
    }

    fn spawn(&mut self, name: &str, mut command: Command, log: PathBuf) -> ProcessId {
        let child = command.spawn().expect("start automatrix");
        self.processes.push(Process {
            name: name.to_owned(),
            child,
            log,
        });
        ProcessId(self.processes.len() - 1)
    }

    /// Starts `automatrix serve` with `workers` in-process workers on a free port, waits until
    /// it is ready, and points the API client at it.
    pub async fn start_serve(
        &mut self,
        name: &str,
        workers: usize,
        env: &[(&str, &str)],
    ) -> ProcessId {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let (mut c, log) = self.command(name, env);
        c.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--workers", &workers.to_string()]);
        let id = self.spawn(name, c, log);
        let base = format!("http://127.0.0.1:{port}");
        let ready = format!("{base}/health/ready");
        self.eventually(&format!("{name} is ready"), async || {
            self.check_running(id);
            let res = self.http.get(&ready).send().await;
            res.is_ok_and(|r| r.status().is_success())
        })
        .await;
        self.api = Some(base);
        id
    }

    /// Starts `automatrix worker` and, on PostgreSQL, waits until it listens for queue events
    /// (so a test can rely on being heard).
    pub async fn start_worker(
        &mut self,
        name: &str,
        workers: usize,
        env: &[(&str, &str)],
    ) -> ProcessId {
        let (mut c, log) = self.command(name, env);
        c.args(["worker", "--workers", &workers.to_string()]);
        let id = self.spawn(name, c, log);
        if self.is_postgres() {
            self.wait_for_log(id, "listening for queue events", 1).await;
        }
        id
    }

    /// Runs `automatrix ARGS` to its end on the cluster's database; its output.
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let (mut c, _) = self.command(&format!("run-{}", args.first().unwrap_or(&"")), env);
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        tokio::process::Command::from(c)
            .output()
            .await
            .expect("run automatrix")
    }

    /// The data directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The process's stderr so far.
    pub fn log(&self, id: ProcessId) -> String {
        std::fs::read_to_string(&self.processes[id.0].log).unwrap_or_default()
    }

    /// Waits until the process's stderr contains `needle` at least `times` times.
    pub async fn wait_for_log(&self, id: ProcessId, needle: &str, times: usize) {
        let name = &self.processes[id.0].name;
        self.eventually(&format!("{name} logs `{needle}` {times}×"), async || {
            self.check_running(id);
            self.log(id).matches(needle).count() >= times
        })
        .await;
    }

    fn check_running(&self, id: ProcessId) {
        let p = &self.processes[id.0];
        // `try_wait` needs `&mut`; a zero-signal `kill` asks the same without reaping.
        let alive = Command::new("kill")
            .args(["-0", &p.child.id().to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(alive, "{} exited early", p.name);
    }

    pub fn sigterm(&self, id: ProcessId) {
        let pid = self.processes[id.0].child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM");
    }

    pub fn sigkill(&mut self, id: ProcessId) {
        self.processes[id.0].child.kill().expect("SIGKILL");
    }

    /// Waits (bounded by `bound`) for the process to exit and returns its status.
    pub async fn wait_exit(&mut self, id: ProcessId, bound: Duration) -> ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            let p = &mut self.processes[id.0];
            if let Some(status) = p.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {bound:?}",
                p.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `done` until it holds, failing the test after [`BOUND`].
    pub async fn eventually(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + BOUND;
        loop {
            if done().await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {BOUND:?} waiting until {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // --- HTTP ---

    /// A request to the API as the logged-in user: status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, body, &[]).await
    }

    /// [`call`](Self::call) with extra request headers.
    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let base = self.api.as_deref().expect("a serve process");
        let mut req = self.http.request(method, format!("{base}{path}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// The full URL of `path` on the last `serve` started.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api.as_deref().expect("a serve process"))
    }

    /// Registers a user (in a new organization) and logs in; later calls use the access
    /// token. Returns the user's email.
    pub async fn sign_up(&mut self) -> String {
        let email = format!("ops-{}@dealer.example", uuid::Uuid::now_v7().simple());
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/register",
                Some(json!({"email": email, "password": PASSWORD, "name": "Ops"})),
            )
            .await;
        assert_eq!(status, 201, "register: {body}");
        self.log_in(&email).await;
        email
    }

    /// Logs in as a user of [`sign_up`](Self::sign_up); later calls use the access token.
    pub async fn log_in(&mut self, email: &str) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/login",
                Some(json!({"email": email, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "login: {body}");
        self.token = Some(body["access_token"].as_str().expect("token").to_owned());
    }

    /// The access token later calls use.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Makes later calls use `token`.
    pub fn use_token(&mut self, token: &str) {
        self.token = Some(token.to_owned());
    }

    /// Saves a credential; returns its id.
    pub async fn create_credential(&self, name: &str, kind: &str, data: Value) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/credentials",
                Some(json!({"name": name, "type": kind, "data": data})),
            )
            .await;
        assert_eq!(status, 201, "create credential: {body}");
        body["id"].as_str().expect("credential id").to_owned()
    }

    /// Creates a workflow; returns its id.
    pub async fn create_workflow(&self, definition: Value) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/workflows",
                Some(json!({"name": "test", "definition": definition})),
            )
            .await;
        assert_eq!(status, 201, "create workflow: {body}");
        body["id"].as_str().expect("workflow id").to_owned()
    }

    /// Queues an execution; returns its id.
    pub async fn execute(&self, workflow: &str, input: Value) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/api/workflows/{workflow}/execute"),
                Some(json!({"input": input})),
            )
            .await;
        assert_eq!(status, 202, "execute: {body}");
        body["execution_id"]
            .as_str()
            .expect("execution id")
            .to_owned()
    }

    pub async fn execution(&self, id: &str) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, &format!("/api/executions/{id}"), None)
            .await;
        assert_eq!(status, 200, "get execution: {body}");
        body
    }

    /// The step log rows of an execution (one per attempt).
    pub async fn steps(&self, id: &str) -> Vec<Value> {
        let (status, body) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/executions/{id}/logs"),
                None,
            )
            .await;
        assert_eq!(status, 200, "logs: {body}");
        body["items"].as_array().expect("items").clone()
    }

    // --- tables ---

    async fn pool(&self) -> &Pool {
        self.pool
            .get_or_init(async || match self.database.as_ref().expect("database") {
                Database::Sqlite => {
                    let options = sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(self.dir.path().join("automatrix.db"));
                    Pool::Sqlite(
                        sqlx::sqlite::SqlitePoolOptions::new()
                            .max_connections(1)
                            .connect_with(options)
                            .await
                            .expect("open the SQLite file"),
                    )
                }
                Database::Postgres(db) => Pool::Postgres(
                    sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect(&db.url)
                        .await
                        .expect("connect to PostgreSQL"),
                ),
            })
            .await
    }

    /// A `select count(*) …` on the database.
    pub async fn count(&self, sql: &'static str) -> i64 {
        match self.pool().await {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
            Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// A query of one text column.
    pub async fn texts(&self, sql: &'static str) -> Vec<String> {
        match self.pool().await {
            Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Every credential's id, organization, type and sealed data, by id.
    pub async fn sealed_credentials(&self) -> Vec<SealedRow> {
        let sql = "select id, organization_id, kind, sealed from credentials order by id";
        match self.pool().await {
            Pool::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
            Pool::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The promises every finished run keeps: all `expected` executions completed, every node
    /// of each has exactly one completed step row (a completed step never ran again), and the
    /// queue is empty.
    pub async fn assert_all_completed_once(&self, expected: i64, nodes: i64) {
        let unfinished = self
            .texts(
                "select status || ': ' || coalesce(error_message, '') from executions \
                 where status <> 'completed'",
            )
            .await;
        assert!(unfinished.is_empty(), "not completed: {unfinished:?}");
        assert_eq!(
            self.count("select count(*) from executions").await,
            expected
        );
        let twice = self
            .count(
                "select count(*) from (select execution_id, node_id from steps \
                 where status = 'completed' group by execution_id, node_id \
                 having count(*) > 1) twice",
            )
            .await;
        assert_eq!(twice, 0, "a completed step ran again");
        let completed_steps = self
            .count("select count(*) from steps where status = 'completed'")
            .await;
        // With no pair twice, this many rows means every node of every execution.
        assert_eq!(
            completed_steps,
            expected * nodes,
            "every node of every execution completed once"
        );
        assert_eq!(
            self.count("select count(*) from jobs").await,
            0,
            "jobs left"
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        for p in &mut self.processes {
            let _ = p.child.kill();
            let _ = p.child.wait();
            if failed {
                let log = std::fs::read_to_string(&p.log).unwrap_or_default();
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(150)..];
                eprintln!("----- {} (stderr, last {} lines) -----", p.name, tail.len());
                for line in tail {
                    eprintln!("{line}");
                }
            }
        }
        if let Some(Database::Postgres(db)) = self.database.take() {
            // Dropping needs async; a thread of its own keeps it out of the test's runtime.
            let _ = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(db.drop_database());
            })
            .join();
        }
    }
}
