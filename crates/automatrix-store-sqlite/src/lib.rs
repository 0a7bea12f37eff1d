//! SQLite implementation of the AutoMatrix store (`sqlite://…` URLs): the single-process mode.
//!
//! One database file in WAL mode: readers never block, writers take turns. Every transaction
//! that reads and then writes starts with `begin immediate`, so it holds the write lock from
//! the start and waits (`busy_timeout`) instead of failing with `SQLITE_BUSY` when it would
//! have to upgrade a read lock. With a single writer there are no row locks and no `skip
//! locked`: the claim is the same `update … returning` as on PostgreSQL, serialized by that
//! lock.
//!
//! The SQL is shared with `automatrix-store-postgres` (see `automatrix_store::sql`); this crate
//! holds the connection setup, the migrations and its [`Dialect`]. Timestamps are bound from
//! Rust and stored as RFC 3339 UTC text, which orders the same as the instants it encodes.

mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use automatrix_store::sql::Dialect;
use automatrix_store::{StoreError, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteAutoVacuum, SqliteConnectOptions, SqliteConnection, SqliteJournalMode,
    SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Sqlite};

use writer::Writer;
pub use writer::{SqliteWrite, WriterConnection};

/// The embedded migrations of `migrations/`.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations");

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](automatrix_store::Store) on one SQLite database. Cheap to clone: clones share
/// the pool and the writer.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// The connections that read.
    pool: SqlitePool,
    /// The one connection that writes (see [`writer`]).
    writer: Writer,
    /// The directory of a `sqlite::memory:` store's database file, removed with the last clone.
    _scratch: Option<Arc<tempfile::TempDir>>,
    /// Held by every clone; the checkpointer stops when the last one is gone.
    _alive: Arc<()>,
}

/// How often the checkpointer copies the write-ahead log into the database (when something
/// was written): small and often keeps each copy, and the file sync that ends it, short.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(25);

/// Pages (4 KiB each) a checkpoint beside the writer may leave in the log before one runs on
/// the writer connection (see [`checkpoint`]).
const CATCH_UP_PAGES: i64 = 2048;

/// How long that checkpoint waits for the log's readers before it leaves it to the next turn.
const CATCH_UP_WAIT: Duration = Duration::from_millis(5);

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `url`, e.g.
    /// `sqlite://./data/automatrix.db`. Does not migrate: see [`migrate`](Self::migrate) or
    /// [`open`](Self::open).
    ///
    /// `sqlite::memory:` (or a `mode=memory` URL) asks for a database that lives as long as
    /// the store: it is a file in a new temporary directory, removed when the last clone of the
    /// store is dropped, so that the readers and the writer, separate connections, share it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, true).await
    }

    /// Opens the database at `url`, which must exist, without creating or migrating anything:
    /// for tools such as `automatrix backup` that read a database another process may be
    /// using (and that an older or newer binary may have migrated).
    pub async fn connect_existing(url: &str) -> StoreResult<Self> {
        if is_in_memory(url) {
            return Err(StoreError::Unavailable(
                "an in-memory database exists only inside its own process".into(),
            ));
        }
        let file = SqliteConnectOptions::from_str(url)?
            .get_filename()
            .to_owned();
        if !file.is_file() {
            return Err(StoreError::Unavailable(format!(
                "no database at {}",
                file.display()
            )));
        }
        Self::connect_with(url, false).await
    }

    async fn connect_with(url: &str, create: bool) -> StoreResult<Self> {
        let (options, scratch) = if is_in_memory(url) {
            let dir = tempfile::tempdir().map_err(|e| {
                StoreError::Unavailable(format!("cannot create a temporary directory: {e}"))
            })?;
            let options = SqliteConnectOptions::new().filename(dir.path().join("automatrix.db"));
            (options, Some(Arc::new(dir)))
        } else {
            (SqliteConnectOptions::from_str(url)?, None)
        };
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Takes effect when the file is created (before the first table): pruned rows'
            // pages can then be handed back with `pragma incremental_vacuum`.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            // Not at commit: the checkpointer does it, off the writer's path (a checkpoint
            // copies pages and syncs the file, which would stall the write that triggered it).
            .pragma("wal_autocheckpoint", "0")
            // A log that grew in a burst is cut back to this when it starts over.
            .pragma("journal_size_limit", "67108864")
            .busy_timeout(BUSY_TIMEOUT);
        if create {
            create_parent_dir(options.get_filename()).await?;
        }
        // The writer first: it creates the file in WAL mode before any reader opens it.
        let writer = options.connect().await?;
        // A local file connection does not go stale: no ping before each checkout.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        let alive = Arc::new(());
        let writer = Writer::start(writer);
        tokio::spawn(checkpoint(
            pool.clone(),
            writer.clone(),
            Arc::downgrade(&alive),
        ));
        Ok(Self {
            pool,
            writer,
            _scratch: scratch,
            _alive: alive,
        })
    }
}

impl SqliteStore {
    /// Writes a consistent copy of the database to `dest`, a file that must not exist yet
    /// (SQLite's `vacuum into`), synced to disk; returns its size in bytes.
    ///
    /// Safe while other connections and processes read and write: the copy is one read
    /// transaction, and in WAL mode readers never block the writer (it goes on appending to
    /// the log, which the checkpointer copies back once the backup's snapshot is released). The
    /// copy is compact: free pages are left out.
    pub async fn backup_into(&self, dest: &Path) -> StoreResult<u64> {
        let target = dest.to_str().ok_or_else(|| {
            StoreError::Other(format!("backup path {} is not UTF-8", dest.display()))
        })?;
        sqlx::query("vacuum into $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        let dest = dest.to_owned();
        tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&dest)?;
            file.sync_all()?;
            file.metadata().map(|m| m.len())
        })
        .await
        .map_err(|e| StoreError::Other(format!("syncing the backup: {e}")))?
        .map_err(|e| StoreError::Unavailable(format!("syncing the backup: {e}")))
    }
}

/// Copies the write-ahead log into the database every [`CHECKPOINT_EVERY`] when the writer
/// wrote meanwhile (`turns` moved), on a reading connection, without waiting for the writer or
/// the readers (`passive`), until the store is dropped or closed. The log starts over once a
/// checkpoint caught up with it.
///
/// Under a steady load a checkpoint beside the writer never catches up (frames keep coming
/// while it copies), and the log would grow without end, each write appending to a longer
/// file. So once the log holds more than [`CATCH_UP_PAGES`] pages, a checkpoint runs on the
/// writer connection, between two writes: it copies what is left (little: the reading
/// connection's checkpoint copied the rest) and waits for the readers that still read from
/// the log to finish (`restart`: microseconds, they are single queries), so that the next
/// write starts the log over.
async fn checkpoint(pool: SqlitePool, writer: Writer, alive: std::sync::Weak<()>) {
    let turns = writer.turns();
    // Nothing to copy until the writer writes. In particular not while migrations run (on the
    // pool, right after `connect`): a checkpoint then would load the schema half-migrated into
    // a pool connection, which prepares `select *` with the old columns and has SQLite
    // re-prepare it with the new ones at its first step, which sqlx-sqlite's row decoding
    // does not survive (an index out of bounds in its `row.rs`).
    let mut seen = turns.load(std::sync::atomic::Ordering::Relaxed);
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        if alive.strong_count() == 0 || pool.is_closed() {
            return;
        }
        // Once more after the last write: the one before may have run beside it.
        let now = turns.load(std::sync::atomic::Ordering::Relaxed);
        let idle = now == seen;
        seen = now;
        if idle {
            continue;
        }
        // (busy, pages in the log, pages copied)
        let copied: Result<(i64, i64, i64), _> = sqlx::query_as("pragma wal_checkpoint(passive)")
            .fetch_one(&pool)
            .await;
        let result = match copied {
            Ok((_, log, _)) if log > CATCH_UP_PAGES => match writer.lock().await {
                Ok(mut conn) => catch_up(&mut conn).await,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => Err(e),
            },
            other => other.map(drop),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
        }
    }
}

/// A checkpoint on the writer connection that waits a little for readers of the log (see
/// [`checkpoint`]): at most [`CATCH_UP_WAIT`], so that a long read (a report over a year of
/// executions) never holds the writes up; the next turn tries again.
async fn catch_up(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    let wait = format!("pragma busy_timeout = {}", CATCH_UP_WAIT.as_millis());
    sqlx::query(AssertSqlSafe(wait)).execute(&mut *conn).await?;
    let done = sqlx::query("pragma wal_checkpoint(restart)")
        .execute(&mut *conn)
        .await
        .map(drop);
    let back = format!("pragma busy_timeout = {}", BUSY_TIMEOUT.as_millis());
    sqlx::query(AssertSqlSafe(back)).execute(&mut *conn).await?;
    done
}

// `open`, `migrate`, `close` and the store traits, in SQL shared with the PostgreSQL store.
automatrix_store::impl_sql_store!(SqliteStore);

/// `begin immediate` serializes every read-then-write transaction on the database's one write
/// lock, so no statement needs a row lock (SQLite has none to take).
impl Dialect for SqliteStore {
    type Database = Sqlite;
    type Writer = WriterConnection;
    type WriteTransaction = SqliteWrite;

    const BACKEND: &'static str = "sqlite";
    const LOCK_FOR_UPDATE: &'static str = "";
    const LOCK_FOR_SHARE: &'static str = "";
    const LOCK_FOR_CLAIM: &'static str = "";
    const RECLAIM_SPACE: Option<&'static str> = Some("pragma incremental_vacuum");
    // One process: its in-process wake-ups and cancel registry reach every worker there is.
    const NOTIFY_JOB_DUE: Option<&'static str> = None;
    const NOTIFY_EXECUTION_CANCELLED: Option<&'static str> = None;
    const NOTIFY_LIVE: Option<&'static str> = None;
    // Timestamps are RFC 3339 text, which SQLite's date functions read (offset included).
    const CREATED_HOUR: &'static str = "strftime('%Y-%m-%dT%H', created_at)";
    const CREATED_DAY: &'static str = "strftime('%Y-%m-%d', created_at)";
    // A Julian day is a double: about 40 µs of resolution today, which the rounding absorbs.
    const RUN_MS: &'static str =
        "cast(round((julianday(completed_at) - julianday(started_at)) * 86400000.0) as integer)";
    const MIGRATOR: &'static Migrator = &MIGRATOR;

    const ONE_TEXT_UNITS: bool = true;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for the writer connection.
    async fn writer(&self) -> Result<WriterConnection, sqlx::Error> {
        self.writer.lock().await
    }

    async fn begin_write(&self) -> Result<SqliteWrite, sqlx::Error> {
        self.writer.begin().await
    }

    /// Queued for the writer task (see [`writer`]): one text, one round trip.
    async fn run_unit(
        &self,
        unit: &'static [&'static str],
        args: SqliteArguments,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        self.writer.run_unit(unit, args).await
    }

    async fn close_pools(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// `sqlite::memory:` and `…?mode=memory` URLs name a database that exists only in memory.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn create_parent_dir(file: &Path) -> StoreResult<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            tokio::fs::create_dir_all(dir).await.map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use automatrix_store::Store;

    use super::*;

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://file:x?mode=memory&cache=shared"));
        assert!(!is_in_memory("sqlite://./data/automatrix.db"));
    }

    /// A store on a new file, `t.db` in a temporary folder (removed when dropped).
    async fn temp_store() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("t.db");
        let store = SqliteStore::open(&format!("sqlite://{}", file.display()))
            .await
            .expect("open");
        (dir, file, store)
    }

    /// Commits do not checkpoint (`wal_autocheckpoint` is off): only the checkpointer moves
    /// the log into the database file, which therefore grows.
    #[tokio::test]
    async fn the_checkpointer_moves_the_log_into_the_database() {
        let (_dir, file, store) = temp_store().await;
        let size = || std::fs::metadata(&file).expect("db file").len();
        let before = size();
        let mut writer = store.writer().await.expect("writer");
        sqlx::query("create table t (id integer primary key, pad text)")
            .execute(&mut *writer)
            .await
            .expect("create");
        for id in 0..200 {
            sqlx::query("insert into t values ($1, $2)")
                .bind(id)
                .bind("x".repeat(2000))
                .execute(&mut *writer)
                .await
                .expect("insert");
        }
        drop(writer);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() <= before {
            assert!(std::time::Instant::now() < deadline, "never checkpointed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Under writes that never pause, with a reader beside them (short reads, back to back, as
    /// the API's), the log does not grow without end: the checkpointer catches up on the
    /// writer connection and the log starts over. Each unit here writes 4 pages; 4,000 of them
    /// append 16,000 frames (64 MiB) to a log that never starts over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_steady_write_load_does_not_grow_the_log_without_end() {
        use sqlx::Arguments as _;

        static FOUR_ROWS: [&str; 4] = [
            "insert into t (pad) values ($1)",
            "insert into t (pad) values ($1)",
            "insert into t (pad) values ($1)",
            "insert into t (pad) values ($1)",
        ];
        let (_dir, file, store) = temp_store().await;
        sqlx::query("create table t (id integer primary key, pad text)")
            .execute(&mut *store.writer().await.expect("writer"))
            .await
            .expect("create");
        let reading = tokio::spawn({
            let pool = store.pool().clone();
            async move {
                loop {
                    let _: Option<i64> =
                        sqlx::query_scalar("select id from t order by id desc limit 1")
                            .fetch_optional(&pool)
                            .await
                            .expect("read");
                }
            }
        });
        let log = file.with_file_name("t.db-wal");
        let mut largest = 0;
        for _ in 0..4000 {
            let mut args = SqliteArguments::default();
            args.add("x".repeat(3000)).expect("bind");
            store.writer.run_unit(&FOUR_ROWS, args).await.expect("unit");
            largest = largest.max(std::fs::metadata(&log).map_or(0, |m| m.len()));
        }
        reading.abort();
        let pages = largest / 4096;
        assert!(
            pages < 3 * CATCH_UP_PAGES as u64,
            "the log grew to {pages} pages (catch-up at {CATCH_UP_PAGES})"
        );
    }

    #[tokio::test]
    async fn an_in_memory_database_keeps_its_schema_across_calls() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        store.ping().await.expect("ping");
        let tables: i64 =
            sqlx::query_scalar("select count(*) from sqlite_master where name = 'jobs'")
                .fetch_one(store.pool())
                .await
                .expect("count");
        assert_eq!(tables, 1);
    }

    /// A unit whose second statement fails leaves nothing of its first, and the writer
    /// connection is not left inside its transaction: the next unit begins and commits.
    #[tokio::test]
    async fn a_failed_unit_is_rolled_back_and_the_writer_goes_on() {
        use sqlx::Arguments as _;

        static TWICE: [&str; 2] = [
            "insert into t (id) values ($1)",
            "insert into t (id) values ($1) returning 1",
        ];
        static ONCE: [&str; 1] = ["insert into t (id) values ($1) returning 1"];
        fn args(id: i64) -> SqliteArguments {
            let mut args = SqliteArguments::default();
            args.add(id).expect("bind");
            args
        }
        async fn count(store: &SqliteStore) -> i64 {
            sqlx::query_scalar("select count(*) from t")
                .fetch_one(store.pool())
                .await
                .expect("count")
        }

        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        sqlx::query("create table t (id integer primary key)")
            .execute(&mut *store.writer().await.expect("writer"))
            .await
            .expect("create");

        let failed = store.run_unit(&TWICE, args(1)).await;
        assert!(failed.is_err(), "the second insert breaks the key");
        assert_eq!(count(&store).await, 0, "the first insert is rolled back");

        let returned = store.run_unit(&ONCE, args(2)).await.expect("next unit");
        assert_eq!(returned.len(), 1);
        assert_eq!(count(&store).await, 1);
    }

    /// Units queued at once run back to back on the writer task: each succeeds or fails on its
    /// own, and a failed one leaves nothing behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn units_queued_together_succeed_or_fail_each_on_its_own() {
        use sqlx::Arguments as _;

        static ONE: [&str; 1] = ["insert into t (id) values ($1) returning 1"];
        static BROKEN: [&str; 2] = [
            "insert into t (id) values ($1) returning 1",
            "insert into t (id) values (1000)",
        ];
        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        sqlx::query("create table t (id integer primary key); insert into t values (1000)")
            .execute(&mut *store.writer().await.expect("writer"))
            .await
            .expect("create");

        let units = (0..32_i64).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut args = SqliteArguments::default();
                args.add(i).expect("bind");
                let unit: &'static [&'static str] = if i == 7 { &BROKEN } else { &ONE };
                store.run_unit(unit, args).await.map(|rows| rows.len())
            })
        });
        let results: Vec<_> = join_in_order(units).await;
        for (i, result) in results.iter().enumerate() {
            if i == 7 {
                assert!(result.is_err(), "unit 7 breaks the key");
            } else {
                assert_eq!(result.as_ref().ok(), Some(&1), "unit {i}");
            }
        }
        let ids: Vec<i64> = sqlx::query_scalar("select id from t order by id")
            .fetch_all(store.pool())
            .await
            .expect("ids");
        let expected: Vec<i64> = (0..32).filter(|i| *i != 7).chain([1000]).collect();
        assert_eq!(ids, expected);
    }

    async fn join_in_order<T: Send + 'static>(
        tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for task in tasks.collect::<Vec<_>>() {
            out.push(task.await.expect("task"));
        }
        out
    }

    /// A backup taken while the writer keeps inserting holds every row committed before it
    /// started, passes SQLite's integrity check, and never replaces an existing file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backup_is_a_consistent_copy_taken_beside_a_writer() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("live.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        let insert = async |store: &SqliteStore, id: i64| {
            sqlx::query("insert into t (id) values ($1)")
                .bind(id)
                .execute(&mut *store.writer().await.expect("writer"))
                .await
                .expect("insert");
        };
        sqlx::query("create table t (id integer primary key)")
            .execute(&mut *store.writer().await.expect("writer"))
            .await
            .expect("create");
        for id in 0..100 {
            insert(&store, id).await;
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = tokio::spawn({
            let (store, stop) = (store.clone(), stop.clone());
            async move {
                let mut id = 100;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    insert(&store, id).await;
                    id += 1;
                }
                id
            }
        });

        let reader = SqliteStore::connect_existing(&url).await.expect("existing");
        let copy = dir.path().join("copy.db");
        let size = reader.backup_into(&copy).await.expect("backup");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.await.expect("writer task");
        assert_eq!(size, std::fs::metadata(&copy).expect("copy").len());

        let backup = SqliteStore::connect_existing(&format!("sqlite://{}", copy.display()))
            .await
            .expect("open the copy");
        let check: String = sqlx::query_scalar("pragma integrity_check")
            .fetch_one(backup.pool())
            .await
            .expect("integrity check");
        assert_eq!(check, "ok");
        let rows: i64 = sqlx::query_scalar("select count(*) from t")
            .fetch_one(backup.pool())
            .await
            .expect("count");
        assert!((100..=written).contains(&rows), "{rows} of {written}");

        assert!(reader.backup_into(&copy).await.is_err(), "overwrote a file");
        let missing = format!("sqlite://{}", dir.path().join("none.db").display());
        assert!(SqliteStore::connect_existing(&missing).await.is_err());
        assert!(!dir.path().join("none.db").exists(), "created a database");
    }

    #[tokio::test]
    async fn connect_creates_the_missing_directory_and_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/deeper/automatrix.db");
        let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("open");
        store.ping().await.expect("ping");
        assert!(path.exists());
        let mode: String = sqlx::query_scalar("pragma journal_mode")
            .fetch_one(store.pool())
            .await
            .expect("journal mode");
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("pragma foreign_keys")
            .fetch_one(store.pool())
            .await
            .expect("foreign keys");
        assert_eq!(fk, 1);
        store.close().await;

        let reopened = SqliteStore::open(&format!("sqlite://{}", path.display())).await;
        reopened.expect("reopen: applied migrations are skipped");
    }
}
