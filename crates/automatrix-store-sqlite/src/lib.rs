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

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use automatrix_store::sql::{CommitWrite, Dialect};
use automatrix_store::{StoreError, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteArguments, SqliteAutoVacuum, SqliteConnectOptions, SqliteConnection, SqliteJournalMode,
    SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Sqlite};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};

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
    /// The one connection that writes, a transaction or a lone statement, held by one writer
    /// at a time (`None` once closed). Writers queue for it in the process, in order, instead
    /// of sleeping in SQLite's busy handler while the write lock sits free (measured: p99 of a
    /// drain at concurrency 8 went from about 100 ms to about 10 ms). It is not a pool's
    /// connection because a pool tests a connection each time it comes back (a `ping`, one more
    /// round trip to the connection's thread per write). A lone statement that reads before it
    /// writes (the claim) needs no `begin immediate` here: no other connection of the process
    /// writes between its read and its write.
    writer: Arc<Mutex<Option<SqliteConnection>>>,
    /// Set when a write transaction was dropped uncommitted: the next writer rolls it back.
    rollback_due: Arc<AtomicBool>,
    /// The directory of a `sqlite::memory:` store's database file, removed with the last clone.
    _scratch: Option<Arc<tempfile::TempDir>>,
}

impl SqliteStore {
    /// Opens (creating it and its directory if missing) the database at `url`, e.g.
    /// `sqlite://./data/automatrix.db`. Does not migrate: see [`migrate`](Self::migrate) or
    /// [`open`](Self::open).
    ///
    /// `sqlite::memory:` (or a `mode=memory` URL) asks for a database that lives as long as
    /// the store: it is a file in a new temporary directory, removed when the last clone of the
    /// store is dropped, so that the readers and the writer, separate connections, share it.
    pub async fn connect(url: &str) -> StoreResult<Self> {
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
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Takes effect when the file is created (before the first table): pruned rows'
            // pages can then be handed back with `pragma incremental_vacuum`.
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .busy_timeout(BUSY_TIMEOUT);
        create_parent_dir(options.get_filename()).await?;
        // The writer first: it creates the file in WAL mode before any reader opens it.
        let writer = options.connect().await?;
        // A local file connection does not go stale: no ping before each checkout.
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            writer: Arc::new(Mutex::new(Some(writer))),
            rollback_due: Arc::new(AtomicBool::new(false)),
            _scratch: scratch,
        })
    }
}

// `open`, `migrate`, `close` and the store traits, in SQL shared with the PostgreSQL store.
automatrix_store::impl_sql_store!(SqliteStore);

/// The writer connection, held until dropped.
pub type WriterConnection = OwnedMappedMutexGuard<Option<SqliteConnection>, SqliteConnection>;

/// A write transaction (`begin immediate`) on the writer connection. Dropped before
/// [`commit`](CommitWrite::commit), it is rolled back at once by a task that holds the writer
/// connection until then (or, outside a runtime, by the next writer before anything else).
#[derive(Debug)]
pub struct SqliteWrite {
    /// `Some` until dropped.
    conn: Option<WriterConnection>,
    open: bool,
    rollback_due: Arc<AtomicBool>,
}

impl SqliteWrite {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a write transaction has its connection until dropped")
    }
}

impl Deref for SqliteWrite {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a write transaction has its connection until dropped")
    }
}

impl DerefMut for SqliteWrite {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn()
    }
}

impl CommitWrite for SqliteWrite {
    async fn commit(mut self) -> sqlx::Result<()> {
        sqlx::query("commit").execute(self.conn()).await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take().filter(|_| self.open) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    // Fails harmlessly when the transaction never began.
                    let _ = sqlx::query("rollback").execute(&mut *conn).await;
                });
            }
            // Set while the guard is held: the next writer sees it.
            Err(_) => self.rollback_due.store(true, Ordering::SeqCst),
        }
    }
}

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
    const MIGRATOR: &'static Migrator = &MIGRATOR;
    const ONE_TEXT_UNITS: bool = true;

    fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Waits for the writer connection; rolls back first what a dropped transaction left.
    async fn writer(&self) -> Result<WriterConnection, sqlx::Error> {
        let guard = self.writer.clone().lock_owned().await;
        let mut conn =
            OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
        if self.rollback_due.swap(false, Ordering::SeqCst) {
            // Fails harmlessly when the transaction never began.
            let _ = sqlx::query("rollback").execute(&mut *conn).await;
        }
        Ok(conn)
    }

    /// A transaction that holds the write lock from its first statement.
    async fn begin_write(&self) -> Result<SqliteWrite, sqlx::Error> {
        let conn = self.writer().await?;
        // Open before `begin` runs: if this future is dropped meanwhile, the rollback is due.
        let mut tx = SqliteWrite {
            conn: Some(conn),
            open: true,
            rollback_due: self.rollback_due.clone(),
        };
        sqlx::query("begin immediate").execute(tx.conn()).await?;
        Ok(tx)
    }

    /// One round trip: `begin immediate; …; commit` as one text. Should a statement fail (or
    /// this future be dropped), the transaction is rolled back like a dropped
    /// [`SqliteWrite`].
    async fn run_unit(
        &self,
        unit: &'static [&'static str],
        args: SqliteArguments,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let sql = format!("begin immediate; {}; commit", unit.join("; "));
        let mut tx = SqliteWrite {
            conn: Some(self.writer().await?),
            open: true,
            rollback_due: self.rollback_due.clone(),
        };
        let rows = sqlx::query_with(AssertSqlSafe(sql), args)
            .fetch_all(tx.conn())
            .await?;
        tx.open = false;
        Ok(rows)
    }

    async fn close_pools(&self) {
        if let Some(conn) = self.writer.lock().await.take() {
            let _ = conn.close().await;
        }
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
