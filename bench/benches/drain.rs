//! Durable-execution benchmark: how fast workers drain a queue of executions when every step
//! is checkpointed, on SQLite and on PostgreSQL, and where the time of one run goes.
//!
//! For each backend, workflow shape and worker concurrency it builds a fresh database, queues
//! the executions through `Engine::execute` (execution row + job in one transaction), then
//! starts one `Worker::run` with that concurrency and times it until the job table is empty.
//! The drain's end is the latest `completed_at` the worker recorded (the queue is polled every
//! 5 ms only to notice it). Afterwards it times each store call a run makes, one at a time,
//! and the statements of one checkpoint. Results and their reading: `bench/README.md`.
//!
//! Run: `cargo bench -p automatrix-bench --bench drain` (release). Not a criterion benchmark:
//! it prints Markdown tables. Without `--bench` in its arguments (`cargo test --all-targets`
//! runs bench targets that way) it only smoke-tests the code with a handful of executions.
//!
//! Environment (all optional):
//! - `AUTOMATRIX_BENCH_EXECUTIONS`: executions queued per chain case (default 2000)
//! - `AUTOMATRIX_BENCH_FANOUT_EXECUTIONS`: executions per fan-out case (default 100)
//! - `AUTOMATRIX_BENCH_CONCURRENCY`: worker concurrencies, comma-separated (default `1,8,32`)
//! - `AUTOMATRIX_BENCH_CASE_SECONDS`: time limit of one drain (default 30); a drain that hits
//!   it stops and reports the rate of the executions it completed
//! - `AUTOMATRIX_BENCH_SAMPLES`: samples per store-call timing (default 300)
//! - `AUTOMATRIX_BENCH_REPEAT`: runs of each drain case, each on a fresh database; the median
//!   run (by executions/s) is reported with the range (default 1)
//! - `AUTOMATRIX_BENCH_BACKENDS`: any of `sqlite`, `postgres` (the product's stores, opened as
//!   the server opens them; default `sqlite,postgres`) and a what-if, which is not the
//!   product's setting but shows what the setting costs: `postgres-async`
//!   (`synchronous_commit = off` on the database: commits do not wait for the WAL flush).
//! - `AUTOMATRIX_BENCH_POSTGRES_URL`, else `AUTOMATRIX_TEST_POSTGRES_URL`: a server on which
//!   a throwaway database may be created; PostgreSQL is skipped when neither is set.
//! - `AUTOMATRIX_BENCH_SHAPES`: any of `1-step`, `10-step`, `fan-out` (default all three)
//! - `AUTOMATRIX_BENCH_WARMUP`: `1` runs each case once more first, with a fifth of its
//!   executions, and discards it (default `0`)
//! - `AUTOMATRIX_BENCH_CALLS`: `0` skips the store-call timings (default `1`)
//! - `AUTOMATRIX_BENCH_JSON`: a file to write the cases to as JSON as well (the suite,
//!   `bench/suite.py`, reads it: workload W4)

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use automatrix_bench::{chain, fan_out, process_cpu_seconds, registry};
use automatrix_core::StepStatus;
use automatrix_core::expr::{Expressions, Limits};
use automatrix_engine::{Engine, ExecutorConfig, NewWorkflowRequest, WorkerConfig};
use automatrix_store::{
    ClaimedJob, ExecutionOutcome, NewExecution, NewUser, StepWrite, Store, StoreError,
};
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::TempDatabase;
use automatrix_store_sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Connection, Executor as _, PgConnection};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Tasks calling `Engine::execute` at the same time while queueing.
const ENQUEUE_TASKS: usize = 8;
/// How often the drain looks at the job table.
const POLL: Duration = Duration::from_millis(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    /// What-if: PostgreSQL with `synchronous_commit = off` on the benchmark's database.
    PostgresAsync,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::PostgresAsync => "postgres-async",
        }
    }

    fn is_sqlite(self) -> bool {
        self == Self::Sqlite
    }
}

struct Settings {
    /// Run by `cargo bench` (`--bench`): full sizes. Otherwise a smoke test.
    full: bool,
    executions: usize,
    fan_out_executions: usize,
    concurrency: Vec<usize>,
    case_limit: Duration,
    samples: usize,
    /// Runs per drain case; the median run (by executions/s) is reported.
    repeat: usize,
    backends: Vec<Backend>,
    postgres_url: Option<String>,
    shapes: Vec<String>,
    warmup: bool,
    calls: bool,
    json: Option<String>,
}

impl Settings {
    fn from_env() -> Self {
        let full = std::env::args().any(|a| a == "--bench");
        let num = |name: &str, full_default: usize, smoke: usize| -> usize {
            match std::env::var(name) {
                Ok(v) if full => v
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name} must be a number, got `{v}`")),
                _ if full => full_default,
                _ => smoke,
            }
        };
        let list = |name: &str, default: &str| -> Vec<String> {
            std::env::var(name)
                .unwrap_or_else(|_| default.to_owned())
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let concurrency = if full {
            list("AUTOMATRIX_BENCH_CONCURRENCY", "1,8,32")
                .iter()
                .map(|c| c.parse().expect("AUTOMATRIX_BENCH_CONCURRENCY: numbers"))
                .collect()
        } else {
            vec![2]
        };
        let backends = list("AUTOMATRIX_BENCH_BACKENDS", "sqlite,postgres")
            .iter()
            .map(|b| match b.as_str() {
                "sqlite" => Backend::Sqlite,
                "postgres" => Backend::Postgres,
                "postgres-async" => Backend::PostgresAsync,
                other => panic!("AUTOMATRIX_BENCH_BACKENDS: unknown backend `{other}`"),
            })
            .collect();
        let postgres_url = std::env::var("AUTOMATRIX_BENCH_POSTGRES_URL")
            .or_else(|_| std::env::var("AUTOMATRIX_TEST_POSTGRES_URL"))
            .ok()
            .filter(|u| !u.is_empty());
        Self {
            full,
            executions: num("AUTOMATRIX_BENCH_EXECUTIONS", 2000, 6).max(1),
            fan_out_executions: num("AUTOMATRIX_BENCH_FANOUT_EXECUTIONS", 100, 2).max(1),
            concurrency,
            case_limit: Duration::from_secs(num("AUTOMATRIX_BENCH_CASE_SECONDS", 30, 60) as u64),
            samples: num("AUTOMATRIX_BENCH_SAMPLES", 300, 3).max(1),
            repeat: num("AUTOMATRIX_BENCH_REPEAT", 1, 1).max(1),
            backends,
            postgres_url,
            shapes: list("AUTOMATRIX_BENCH_SHAPES", "1-step,10-step,fan-out"),
            warmup: full && num("AUTOMATRIX_BENCH_WARMUP", 0, 0) > 0,
            calls: num("AUTOMATRIX_BENCH_CALLS", 1, 1) > 0,
            json: std::env::var("AUTOMATRIX_BENCH_JSON")
                .ok()
                .filter(|p| !p.is_empty()),
        }
    }
}

/// A workflow shape and how many executions of it a case queues.
struct Shape {
    /// What `AUTOMATRIX_BENCH_SHAPES` calls it.
    key: &'static str,
    name: &'static str,
    nodes: usize,
    definition: Value,
    executions: usize,
}

fn shapes(s: &Settings) -> Vec<Shape> {
    vec![
        Shape {
            key: "1-step",
            name: "1-step (trigger + set)",
            nodes: 2,
            definition: chain(2, false),
            executions: s.executions,
        },
        Shape {
            key: "10-step",
            name: "10-step chain",
            nodes: 10,
            definition: chain(10, false),
            executions: s.executions,
        },
        Shape {
            key: "fan-out",
            name: "fan-out 100 + merge",
            nodes: 102,
            definition: fan_out(100),
            executions: s.fan_out_executions,
        },
    ]
    .into_iter()
    .filter(|shape| s.shapes.iter().any(|k| k == shape.key))
    .collect()
}

/// A fresh database: the store the engine uses, plus a separate one-connection pool for
/// watching progress and timing raw statements.
struct Db {
    store: Arc<dyn Store>,
    concrete: Concrete,
    raw: Raw,
    _dir: Option<tempfile::TempDir>,
    temp: Option<TempDatabase>,
}

enum Concrete {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

enum Raw {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

impl Db {
    async fn open(backend: Backend, postgres_url: Option<&str>) -> Self {
        if backend.is_sqlite() {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("bench.db");
            let url = format!("sqlite://{}", path.display());
            // The connection settings of `SqliteStore::connect`, for the raw pool, so that
            // raw timings compare.
            let options = SqliteConnectOptions::from_str(&url)
                .expect("sqlite url")
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .auto_vacuum(SqliteAutoVacuum::Incremental)
                .busy_timeout(Duration::from_secs(5));
            let store = SqliteStore::open(&url).await.expect("open sqlite");
            let raw = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .expect("raw sqlite pool");
            return Self {
                store: Arc::new(store.clone()),
                concrete: Concrete::Sqlite(store),
                raw: Raw::Sqlite(raw),
                _dir: Some(dir),
                temp: None,
            };
        }
        let admin = postgres_url.expect("checked by the caller");
        let temp = TempDatabase::create_on(admin)
            .await
            .expect("create a PostgreSQL database");
        if backend == Backend::PostgresAsync {
            let mut conn = PgConnection::connect(&temp.url).await.expect("connect");
            let sql = format!("alter database {} set synchronous_commit = off", temp.name);
            conn.execute(AssertSqlSafe(sql))
                .await
                .expect("synchronous_commit");
            conn.close().await.expect("close");
        }
        let store = PgStore::open(&temp.url).await.expect("open postgres");
        let raw = PgPoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect(&temp.url)
            .await
            .expect("raw postgres pool");
        Self {
            store: Arc::new(store.clone()),
            concrete: Concrete::Pg(store),
            raw: Raw::Pg(raw),
            _dir: None,
            temp: Some(temp),
        }
    }

    async fn close(self) {
        match &self.raw {
            Raw::Sqlite(p) => p.close().await,
            Raw::Pg(p) => p.close().await,
        }
        match &self.concrete {
            Concrete::Sqlite(s) => s.close().await,
            Concrete::Pg(s) => s.close().await,
        }
        if let Some(temp) = self.temp {
            temp.drop_database().await;
        }
    }

    /// The database's size in bytes (SQLite: its pages, the write-ahead log's included).
    async fn size(&self) -> i64 {
        match &self.raw {
            Raw::Sqlite(p) => {
                sqlx::query_scalar(
                    "select page_count * page_size from pragma_page_count(), pragma_page_size()",
                )
                .fetch_one(p)
                .await
            }
            Raw::Pg(p) => {
                sqlx::query_scalar("select pg_database_size(current_database())")
                    .fetch_one(p)
                    .await
            }
        }
        .expect("database size")
    }

    async fn remaining_jobs(&self) -> i64 {
        const SQL: &str = "select count(*) from jobs";
        match &self.raw {
            Raw::Sqlite(p) => sqlx::query_scalar(SQL).fetch_one(p).await,
            Raw::Pg(p) => sqlx::query_scalar(SQL).fetch_one(p).await,
        }
        .expect("count jobs")
    }

    /// `(started_at, completed_at)` of every completed execution.
    async fn completed_times(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        const SQL: &str = "select started_at, completed_at from executions \
                           where status = 'completed'";
        type Row = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let rows: Vec<Row> = match &self.raw {
            Raw::Sqlite(p) => sqlx::query_as(SQL).fetch_all(p).await,
            Raw::Pg(p) => sqlx::query_as(SQL).fetch_all(p).await,
        }
        .expect("completed executions");
        rows.into_iter()
            .map(|(s, c)| (s.expect("started_at"), c.expect("completed_at")))
            .collect()
    }

    /// The statuses of executions that did not complete, with an error message if any.
    async fn not_completed(&self) -> Vec<(String, Option<String>)> {
        const SQL: &str = "select status, error_message from executions \
                           where status <> 'completed'";
        match &self.raw {
            Raw::Sqlite(p) => sqlx::query_as(SQL).fetch_all(p).await,
            Raw::Pg(p) => sqlx::query_as(SQL).fetch_all(p).await,
        }
        .expect("other executions")
    }
}

fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::new(
        store,
        registry(),
        Expressions::new(2, Limits::default()),
        ExecutorConfig::default(),
        automatrix_engine::Vault::from_master_secret(b"bench-secret-bench-secret-bench-secret"),
    )
}

/// A new organization with one workflow of `definition`: `(organization, workflow, version)`.
async fn workflow(engine: &Engine, definition: Value) -> (Uuid, Uuid, i64) {
    let id = Uuid::now_v7();
    let user = engine
        .store()
        .create_user_with_organization(NewUser {
            id,
            organization_id: Uuid::now_v7(),
            organization_name: "Bench".to_owned(),
            email: format!("bench-{}@example.test", id.simple()),
            name: "Bench".to_owned(),
            password_hash: "$argon2id$bench".to_owned(),
            now: Utc::now(),
        })
        .await
        .expect("user");
    let wf = engine
        .create_workflow(
            user.organization_id,
            Some(user.id),
            NewWorkflowRequest {
                name: "bench".to_owned(),
                description: String::new(),
                definition,
                is_active: true,
            },
        )
        .await
        .expect("workflow");
    (user.organization_id, wf.id, wf.version)
}

/// Queues `n` executions through `Engine::execute`, `ENQUEUE_TASKS` at a time.
async fn enqueue(engine: &Engine, org: Uuid, wf: Uuid, n: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let clock = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..ENQUEUE_TASKS {
        let (engine, next) = (engine.clone(), next.clone());
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                engine
                    .execute(org, wf, json!({"score": i}), false, Default::default())
                    .await
                    .expect("execute");
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("enqueue task");
    }
    clock.elapsed()
}

/// One drain's figures.
struct Case {
    backend: Backend,
    shape: &'static str,
    nodes: usize,
    concurrency: usize,
    queued: usize,
    completed: usize,
    /// From the worker's start to the last `completed_at`.
    wall: Duration,
    /// Median and 99th percentile of `completed_at - started_at` (a run inside the worker,
    /// from `start_execution` to the outcome, without the claim and the final commit).
    run_median: Duration,
    run_p99: Duration,
    enqueue: Duration,
    hit_limit: bool,
    /// CPU time over the drain, in seconds: the whole machine's (every process, PostgreSQL
    /// included) and this process's (engine, sqlx, and SQLite itself). `None` without `/proc`.
    cpu: Option<(f64, f64)>,
    /// Executions per second of every run of this case (the row shows the median run).
    rates: Vec<f64>,
    /// What the database grew by over the case (queue and drain), in bytes.
    grown: i64,
}

impl Case {
    fn per_execution(&self) -> Duration {
        self.wall / self.completed.max(1) as u32
    }

    fn per_second(&self) -> f64 {
        self.completed as f64 / self.wall.as_secs_f64()
    }
}

async fn drain_case(
    s: &Settings,
    backend: Backend,
    shape: &Shape,
    concurrency: usize,
    executions: usize,
) -> Case {
    let db = Db::open(backend, s.postgres_url.as_deref()).await;
    let engine = engine(db.store.clone());
    let (org, wf, _) = workflow(&engine, shape.definition.clone()).await;
    let size_before = db.size().await;
    let enqueue = enqueue(&engine, org, wf, executions).await;

    let cpu_before = cpu_sample();
    let started = Utc::now();
    let clock = Instant::now();
    let shutdown = CancellationToken::new();
    let worker = engine.worker(
        format!("bench-{concurrency}"),
        WorkerConfig {
            concurrency,
            ..WorkerConfig::default()
        },
    );
    let running = tokio::spawn(worker.run(shutdown.clone()));
    let mut hit_limit = false;
    loop {
        tokio::time::sleep(POLL).await;
        if db.remaining_jobs().await == 0 {
            break;
        }
        if clock.elapsed() >= s.case_limit {
            hit_limit = true;
            break;
        }
    }
    let cpu_after = cpu_sample();
    shutdown.cancel();
    running.await.expect("worker");

    let times = db.completed_times().await;
    let others = db.not_completed().await;
    if !hit_limit && !others.is_empty() {
        let (status, error) = &others[0];
        panic!(
            "{} of {executions} executions did not complete; first: {status} {error:?}",
            others.len(),
        );
    }
    let end = times.iter().map(|(_, c)| *c).max().unwrap_or(started);
    let mut runs: Vec<Duration> = times
        .iter()
        .map(|(s, c)| (*c - *s).to_std().unwrap_or_default())
        .collect();
    runs.sort();
    let case = Case {
        backend,
        shape: shape.name,
        nodes: shape.nodes,
        concurrency,
        queued: executions,
        completed: times.len(),
        wall: (end - started).to_std().unwrap_or_default(),
        run_median: percentile(&runs, 50),
        run_p99: percentile(&runs, 99),
        enqueue,
        hit_limit,
        cpu: cpu_before
            .zip(cpu_after)
            .map(|(a, b)| (b.machine - a.machine, b.process - a.process)),
        rates: Vec::new(),
        grown: db.size().await - size_before,
    };
    drop(engine);
    db.close().await;
    case
}

/// Busy CPU seconds so far: the machine's (all CPUs, from `/proc/stat`) and this process's
/// (`/proc/self/stat`). Linux only; clock ticks are taken to be the usual 100 per second.
#[derive(Clone, Copy)]
struct CpuSample {
    machine: f64,
    process: f64,
}

fn cpu_sample() -> Option<CpuSample> {
    const TICK: f64 = 0.01;
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
    let busy: u64 = cpu
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(CpuSample {
        machine: busy as f64 * TICK,
        process: process_cpu_seconds(),
    })
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.2}")
    }
}

fn us(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

fn print_cases(cases: &[Case]) {
    println!(
        "| backend | workflow | nodes | concurrency | executions | drain (s) | executions/s \
         (range over runs) | steps/s | ms/execution | ms/step | run median / p99 (ms) | CPU \
         busy (cores) | CPU ms/execution: machine / bench process | enqueue/s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for c in cases {
        let done = if c.hit_limit {
            format!("{} of {} (time limit)", c.completed, c.queued)
        } else {
            c.completed.to_string()
        };
        let rate = match (
            c.rates.iter().copied().reduce(f64::min),
            c.rates.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) if c.rates.len() > 1 => {
                format!("{:.0} ({lo:.0}–{hi:.0})", c.per_second())
            }
            _ => format!("{:.0}", c.per_second()),
        };
        let (busy, cpu) = match c.cpu {
            Some((machine, process)) => {
                let per = |secs: f64| secs * 1e3 / c.completed.max(1) as f64;
                (
                    format!("{:.2}", machine / c.wall.as_secs_f64()),
                    format!("{:.2} / {:.2}", per(machine), per(process)),
                )
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {rate} | {:.0} | {} | {} | {} / {} | {busy} | \
             {cpu} | {:.0} |",
            c.backend.name(),
            c.shape,
            c.nodes,
            c.concurrency,
            done,
            c.wall.as_secs_f64(),
            c.per_second() * c.nodes as f64,
            ms(c.per_execution()),
            ms(c.per_execution() / c.nodes as u32),
            ms(c.run_median),
            ms(c.run_p99),
            c.queued as f64 / c.enqueue.as_secs_f64(),
        );
    }
}

/// The marginal cost of one more checkpointed step at concurrency 1: the difference between
/// the 10-node and the 2-node chain per execution, over the 8 extra nodes.
fn print_marginal(cases: &[Case], backends: &[Backend]) {
    let mut lines = Vec::new();
    for &b in backends {
        let at = |nodes: usize| {
            cases
                .iter()
                .find(|c| c.backend == b && c.nodes == nodes && c.concurrency == 1)
                .map(Case::per_execution)
        };
        if let (Some(two), Some(ten)) = (at(2), at(10)) {
            let step = ten.saturating_sub(two) / 8;
            let fixed = two.saturating_sub(step * 2);
            lines.push(format!(
                "| {} | {} | {} | {} |",
                b.name(),
                ms(step),
                ms(fixed),
                ms(ten / 10),
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    println!();
    println!(
        "Per-step overhead at concurrency 1 (marginal = (ms/execution of the 10-node chain - \
         that of the 2-node one) / 8; fixed = what an execution costs besides its steps):"
    );
    println!();
    println!(
        "| backend | marginal ms/step | fixed ms/execution | 10-step chain ms/execution / 10 |"
    );
    println!("|---|---|---|---|");
    for l in lines {
        println!("{l}");
    }
}

/// The upsert of `write_step` (a copy of the statement in
/// `crates/automatrix-store/src/sql/queue.rs`, timed here on its own).
const UPSERT_STEP: &str = "insert into steps (execution_id, organization_id, node_id, node_type, \
         status, attempt, input_data, output_data, output_port, error_message, started_at, \
         completed_at, duration_ms, created_at, updated_at) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
     on conflict (execution_id, node_id, attempt) do update set \
         node_type = excluded.node_type, status = excluded.status, \
         attempt = excluded.attempt, input_data = excluded.input_data, \
         output_data = excluded.output_data, output_port = excluded.output_port, \
         error_message = excluded.error_message, started_at = excluded.started_at, \
         completed_at = excluded.completed_at, duration_ms = excluded.duration_ms, \
         updated_at = excluded.updated_at";

/// Times the parts of one `write_step` separately, `$n` times, on `$pool`: taking a connection
/// from the pool (which pings it first unless the pool was told not to), `begin`, the upsert,
/// the lease check, the status read (the cancel check) and `commit`; then one statement's round trip (`select 1`) on a connection
/// already held.
macro_rules! checkpoint_statements {
    ($t:expr, $pool:expr, $begin:expr, $share:expr, $job:expr, $n:expr) => {{
        let lease = format!(
            "select id from jobs where id = $1 and lease_token = $2{}",
            $share
        );
        for i in 0..$n {
            let w = step(
                $job,
                &format!("raw{}", i % 2),
                "transform.set",
                StepStatus::Completed,
            );
            let clock = Instant::now();
            let mut conn = $pool.acquire().await.expect("acquire");
            $t.record("↳ pool acquire", clock.elapsed());
            let clock = Instant::now();
            sqlx::query($begin)
                .execute(&mut *conn)
                .await
                .expect("begin");
            $t.record("↳ begin", clock.elapsed());
            let clock = Instant::now();
            sqlx::query(UPSERT_STEP)
                .bind(w.execution_id)
                .bind(w.organization_id)
                .bind(&w.node_id)
                .bind(&w.node_type)
                .bind(w.status.as_str())
                .bind(w.attempt)
                .bind(w.input_data.as_ref().map(Json))
                .bind(w.output_data.as_ref().map(Json))
                .bind(&w.output_port)
                .bind(&w.error_message)
                .bind(w.started_at)
                .bind(w.completed_at)
                .bind(w.duration_ms)
                .bind(w.now)
                .execute(&mut *conn)
                .await
                .expect("upsert");
            $t.record("↳ upsert step", clock.elapsed());
            let clock = Instant::now();
            let held: Option<Uuid> = sqlx::query_scalar(AssertSqlSafe(lease.clone()))
                .bind($job.id)
                .bind($job.lease_token)
                .fetch_optional(&mut *conn)
                .await
                .expect("lease check");
            assert!(held.is_some(), "the lease is held");
            $t.record("↳ lease check", clock.elapsed());
            let clock = Instant::now();
            let _status: String = sqlx::query_scalar("select status from executions where id = $1")
                .bind($job.execution_id)
                .fetch_one(&mut *conn)
                .await
                .expect("status");
            $t.record("↳ execution status", clock.elapsed());
            let clock = Instant::now();
            sqlx::query("commit")
                .execute(&mut *conn)
                .await
                .expect("commit");
            $t.record("↳ commit", clock.elapsed());
        }
        let mut conn = $pool.acquire().await.expect("acquire");
        for _ in 0..$n {
            let clock = Instant::now();
            sqlx::query("select 1")
                .execute(&mut *conn)
                .await
                .expect("select 1");
            $t.record("`select 1` on a held connection", clock.elapsed());
        }
    }};
}

/// Times each store call of a run, one at a time, on an otherwise idle database, replaying
/// what the worker does for a 2-node execution; then the statements of one checkpoint.
async fn call_latencies(s: &Settings, backend: Backend) -> Timings {
    let db = Db::open(backend, s.postgres_url.as_deref()).await;
    let engine = engine(db.store.clone());
    let store = db.store.clone();
    let (org, wf, version) = workflow(&engine, chain(2, false)).await;
    let n = s.samples;
    let mut t = Timings::default();

    // Twice as many executions as samples: half taken by `claim_job` + `start_execution`, half
    // by `claim_next` (both in one call), as the worker does.
    for i in 0..2 * n {
        let new = NewExecution {
            id: Uuid::now_v7(),
            organization_id: org,
            workflow_id: wf,
            workflow_version: version,
            input: json!({"score": i}),
            dry_run: false,
            now: Utc::now(),
            lease: None,
            origin: Default::default(),
        };
        t.time("create_execution (enqueue: execution + job)", async {
            store.create_execution(new).await
        })
        .await;
    }
    for _ in 0..n {
        t.time("ping (`select 1`)", store.ping()).await;
    }
    for _ in 0..n {
        let now = Utc::now();
        let job = t
            .time(
                "claim_job",
                store.claim_job("bench", now, now + SECOND * 30),
            )
            .await
            .expect("a queued job");
        let execution = t
            .time("start_execution", store.start_execution(&job, Utc::now()))
            .await
            .expect("runnable");
        t.time("load_steps", store.load_steps(execution.id)).await;
        // A quick step (under `show_running_after`) has one checkpoint: its result, which
        // also reads the execution's status (the cancel check).
        for (node, kind) in [("n0", "trigger.manual"), ("n1", "transform.set")] {
            let done = step(&job, node, kind, StepStatus::Completed);
            t.time(
                "write_step (the step's checkpoint)",
                store.write_step(&job, done),
            )
            .await;
        }
        let outcome = ExecutionOutcome {
            steps: Vec::new(),
            status: automatrix_core::ExecutionStatus::Completed,
            output: Some(json!({"score": 1})),
            error: None,
            now: Utc::now(),
            follow_up: None,
        };
        t.time("finish_execution", store.finish_execution(&job, outcome))
            .await;
    }
    for _ in 0..n {
        let now = Utc::now();
        let (job, _start) = t
            .time(
                "claim_next (the claim loop's call; on SQLite claim + start)",
                store.claim_next("bench", now, now + SECOND * 30),
            )
            .await
            .expect("a queued job");
        let outcome = ExecutionOutcome {
            steps: Vec::new(),
            status: automatrix_core::ExecutionStatus::Completed,
            output: None,
            error: None,
            now: Utc::now(),
            follow_up: None,
        };
        store.finish_execution(&job, outcome).await.expect("finish");
    }

    // The parts of one checkpoint (`write_step`), one by one, on a job claimed and started
    // through the store.
    let new = NewExecution {
        id: Uuid::now_v7(),
        organization_id: org,
        workflow_id: wf,
        workflow_version: version,
        input: json!({}),
        dry_run: false,
        now: Utc::now(),
        lease: None,
        origin: Default::default(),
    };
    store.create_execution(new).await.expect("execution");
    let now = Utc::now();
    let job = store
        .claim_job("bench", now, now + SECOND * 30)
        .await
        .expect("claim")
        .expect("job");
    store.start_execution(&job, now).await.expect("start");
    match &db.raw {
        Raw::Sqlite(pool) => {
            checkpoint_statements!(t, pool, "begin immediate", "", &job, n);
        }
        Raw::Pg(pool) => {
            checkpoint_statements!(t, pool, "begin", " for share", &job, n);
        }
    }

    drop(engine);
    db.close().await;
    t
}

/// One row per call, one column per backend: median (p90) in µs.
fn print_calls(samples: usize, columns: Vec<(Backend, Timings)>) {
    if columns.is_empty() {
        return;
    }
    println!();
    println!(
        "Store calls, one at a time on an idle database ({samples} samples each): median (p90) µs"
    );
    println!();
    let names: Vec<&str> = columns.iter().map(|(b, _)| b.name()).collect();
    println!("| call | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    let labels: Vec<&'static str> = columns[0].1.0.iter().map(|(l, _)| *l).collect();
    for label in labels {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, t)| match t.0.iter().find(|(l, _)| *l == label) {
                Some((_, v)) => {
                    let mut v = v.clone();
                    v.sort();
                    format!("{} ({})", us(percentile(&v, 50)), us(percentile(&v, 90)))
                }
                None => "-".to_owned(),
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
}

const SECOND: chrono::Duration = chrono::Duration::seconds(1);

fn step(job: &ClaimedJob, node: &str, kind: &str, status: StepStatus) -> StepWrite {
    let now = Utc::now();
    let done = status == StepStatus::Completed;
    StepWrite {
        execution_id: job.execution_id,
        organization_id: job.organization_id,
        node_id: node.to_owned(),
        node_type: kind.to_owned(),
        status,
        attempt: 1,
        input_data: Some(json!({"score": 1})),
        output_data: done.then(|| json!({"score": 1, "step1": true})),
        output_port: done.then(|| "main".to_owned()),
        error_message: None,
        started_at: Some(now),
        completed_at: done.then_some(now),
        duration_ms: done.then_some(0),
        now,
    }
}

/// Samples per label, in the order labels first appear.
#[derive(Default)]
struct Timings(Vec<(&'static str, Vec<Duration>)>);

impl Timings {
    fn record(&mut self, label: &'static str, d: Duration) {
        match self.0.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(d),
            None => self.0.push((label, vec![d])),
        }
    }

    async fn time<T>(
        &mut self,
        label: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> T {
        let clock = Instant::now();
        let out = call.await;
        self.record(label, clock.elapsed());
        out.unwrap_or_else(|e| panic!("{label}: {e}"))
    }
}

/// The cases as JSON, for the suite's report.
fn write_json(path: &str, cases: &[Case]) {
    let rows: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "backend": c.backend.name(),
                "shape": c.shape,
                "nodes": c.nodes,
                "concurrency": c.concurrency,
                "queued": c.queued,
                "completed": c.completed,
                "hit_limit": c.hit_limit,
                "drain_s": c.wall.as_secs_f64(),
                "executions_per_s": c.per_second(),
                "rates": c.rates,
                "ms_per_execution": c.per_execution().as_secs_f64() * 1e3,
                "run_median_ms": c.run_median.as_secs_f64() * 1e3,
                "run_p99_ms": c.run_p99.as_secs_f64() * 1e3,
                "enqueue_per_s": c.queued as f64 / c.enqueue.as_secs_f64(),
                "cpu_s": c.cpu.map(|(machine, process)| json!({"machine": machine, "process": process})),
                "db_bytes_per_10k": c.grown as f64 / c.completed.max(1) as f64 * 10_000.0,
            })
        })
        .collect();
    std::fs::write(path, serde_json::to_vec_pretty(&rows).expect("json"))
        .unwrap_or_else(|e| panic!("writing {path}: {e}"));
}

fn main() {
    let s = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(s));
}

async fn run(s: Settings) {
    let mut backends = Vec::new();
    for &b in &s.backends {
        if !b.is_sqlite() && s.postgres_url.is_none() {
            println!(
                "{}: skipped (set AUTOMATRIX_BENCH_POSTGRES_URL or AUTOMATRIX_TEST_POSTGRES_URL)",
                b.name()
            );
            continue;
        }
        backends.push(b);
    }
    let mode = if s.full {
        "full run"
    } else {
        "smoke test (run with `cargo bench` for figures)"
    };
    println!(
        "# drain: {mode}; {} executions per chain case, {} per fan-out case, concurrency {:?}, \
         {} s limit per drain, {} run(s) per case, {} CPUs",
        s.executions,
        s.fan_out_executions,
        s.concurrency,
        s.case_limit.as_secs(),
        s.repeat,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let total = Instant::now();
    let mut cases = Vec::new();
    for &backend in &backends {
        for shape in shapes(&s) {
            for &c in &s.concurrency {
                if s.warmup {
                    let n = (shape.executions / 5).max(1);
                    drain_case(&s, backend, &shape, c, n).await;
                }
                let mut runs = Vec::new();
                for _ in 0..s.repeat {
                    let case = drain_case(&s, backend, &shape, c, shape.executions).await;
                    eprintln!(
                        "  {} / {} / concurrency {c}: {:.0} executions/s",
                        backend.name(),
                        shape.name,
                        case.per_second()
                    );
                    runs.push(case);
                }
                // The median run by rate stands for the case.
                runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
                let rates = runs.iter().map(Case::per_second).collect();
                let mut case = runs.swap_remove(runs.len() / 2);
                case.rates = rates;
                cases.push(case);
            }
        }
    }
    println!();
    print_cases(&cases);
    print_marginal(&cases, &backends);
    if let Some(path) = &s.json {
        write_json(path, &cases);
    }
    if s.calls {
        let mut columns = Vec::new();
        for &backend in &backends {
            columns.push((backend, call_latencies(&s, backend).await));
        }
        print_calls(s.samples, columns);
    }
    println!();
    println!("# total {:.1} s", total.elapsed().as_secs_f64());
}
