//! The one connection that writes, and the task that runs units on it.
//!
//! Every write of the process goes through one connection: writers queue for it in the
//! process, in order, instead of sleeping in SQLite's busy handler while the write lock sits
//! free. It is not a pool's connection, because a pool tests a connection each time it comes
//! back (a `ping`, one more round trip to the connection's thread per write). A lone statement
//! that reads before it writes (the claim) needs no `begin immediate` here: no other connection
//! of the process writes between its read and its write.
//!
//! A caller that holds the connection ([`Writer::lock`], [`Writer::begin`]) hands it on when it
//! is done, and the next caller must be woken before its first statement reaches SQLite: with
//! one statement per call, that wake-up is as long as the statement. The worker's hot writes are
//! *units* ([`Writer::run_unit`]): the caller queues the unit for the writer task, which holds
//! the connection and runs the queued units back to back, each one text (one hand-off to the
//! connection's thread), and wakes each caller with its rows. The callers' wake-ups are then off
//! the connection's path.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use automatrix_store::sql::CommitWrite;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Connection};
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard, mpsc, oneshot};

/// How many queued units the writer task runs before it lets a caller waiting for
/// [`Writer::lock`] or [`Writer::begin`] have the connection.
const UNITS_PER_TURN: usize = 64;

/// The writer connection, held until dropped.
pub type WriterConnection = OwnedMappedMutexGuard<Option<SqliteConnection>, SqliteConnection>;

/// The writer connection (`None` once closed) and the queue of its task. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    slot: Arc<Mutex<Option<SqliteConnection>>>,
    /// Set when a write transaction was dropped outside a runtime: the next holder rolls it
    /// back.
    rollback_due: Arc<AtomicBool>,
    units: mpsc::UnboundedSender<Unit>,
    /// Counts the times the connection was taken to write: the checkpointer skips a turn when
    /// nothing was.
    turns: Arc<AtomicU64>,
}

/// A unit queued for the writer task.
struct Unit {
    statements: &'static [&'static str],
    args: SqliteArguments,
    reply: oneshot::Sender<sqlx::Result<Vec<SqliteRow>>>,
}

impl Writer {
    /// Takes `conn` as the writer connection and starts its task on the current runtime; the
    /// task ends when the last clone is dropped.
    pub(crate) fn start(conn: SqliteConnection) -> Self {
        let (units, queue) = mpsc::unbounded_channel();
        let writer = Self {
            slot: Arc::new(Mutex::new(Some(conn))),
            rollback_due: Arc::new(AtomicBool::new(false)),
            units,
            turns: Arc::new(AtomicU64::new(0)),
        };
        tokio::spawn(serve(
            writer.slot.clone(),
            writer.rollback_due.clone(),
            writer.turns.clone(),
            queue,
        ));
        writer
    }

    /// How many times the connection has been taken to write so far.
    pub(crate) fn turns(&self) -> Arc<AtomicU64> {
        self.turns.clone()
    }

    /// Waits for the connection; rolls back first what a dropped transaction left.
    pub(crate) async fn lock(&self) -> sqlx::Result<WriterConnection> {
        self.turns.fetch_add(1, Ordering::Relaxed);
        lock(&self.slot, &self.rollback_due).await
    }

    /// A transaction that holds the write lock from its first statement.
    pub(crate) async fn begin(&self) -> sqlx::Result<SqliteWrite> {
        let conn = self.lock().await?;
        // Open before `begin` runs: if this future is dropped meanwhile, the rollback is due.
        let mut tx = SqliteWrite {
            conn: Some(conn),
            open: true,
            rollback_due: self.rollback_due.clone(),
        };
        sqlx::query("begin immediate").execute(tx.conn()).await?;
        Ok(tx)
    }

    /// Runs `statements` (one text, `begin immediate; …; commit` when there are several) on
    /// the writer task and returns the rows they returned. A unit runs to its end even if the
    /// caller stops waiting; one that fails is rolled back before the next runs.
    pub(crate) async fn run_unit(
        &self,
        statements: &'static [&'static str],
        args: SqliteArguments,
    ) -> sqlx::Result<Vec<SqliteRow>> {
        let (reply, rows) = oneshot::channel();
        let unit = Unit {
            statements,
            args,
            reply,
        };
        self.units
            .send(unit)
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        rows.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// Closes the connection once its current holder is done; later writes fail with
    /// `PoolClosed`.
    pub(crate) async fn close(&self) {
        if let Some(conn) = self.slot.lock().await.take() {
            let _ = conn.close().await;
        }
    }
}

async fn lock(
    slot: &Arc<Mutex<Option<SqliteConnection>>>,
    rollback_due: &AtomicBool,
) -> sqlx::Result<WriterConnection> {
    let guard = slot.clone().lock_owned().await;
    let mut conn =
        OwnedMutexGuard::try_map(guard, Option::as_mut).map_err(|_| sqlx::Error::PoolClosed)?;
    if rollback_due.swap(false, Ordering::SeqCst) {
        // Fails harmlessly when the transaction never began.
        let _ = sqlx::query("rollback").execute(&mut *conn).await;
    }
    Ok(conn)
}

/// The writer task: takes the connection for the first queued unit and keeps it while more are
/// queued, up to [`UNITS_PER_TURN`].
async fn serve(
    slot: Arc<Mutex<Option<SqliteConnection>>>,
    rollback_due: Arc<AtomicBool>,
    turns: Arc<AtomicU64>,
    mut queue: mpsc::UnboundedReceiver<Unit>,
) {
    while let Some(first) = queue.recv().await {
        turns.fetch_add(1, Ordering::Relaxed);
        let mut conn = match lock(&slot, &rollback_due).await {
            Ok(conn) => conn,
            Err(e) => {
                let _ = first.reply.send(Err(e));
                continue;
            }
        };
        let mut next = Some(first);
        let mut ran = 0;
        while let Some(unit) = next.take() {
            let rows = run(&mut conn, unit.statements, unit.args).await;
            let _ = unit.reply.send(rows);
            ran += 1;
            if ran < UNITS_PER_TURN {
                next = queue.try_recv().ok();
            }
        }
    }
}

async fn run(
    conn: &mut SqliteConnection,
    statements: &'static [&'static str],
    args: SqliteArguments,
) -> sqlx::Result<Vec<SqliteRow>> {
    let [statement] = statements else {
        let text = format!("begin immediate; {}; commit", statements.join("; "));
        let rows = sqlx::query_with(AssertSqlSafe(text), args)
            .fetch_all(&mut *conn)
            .await;
        if rows.is_err() {
            // Fails harmlessly when the failure was `begin` itself.
            let _ = sqlx::query("rollback").execute(&mut *conn).await;
        }
        return rows;
    };
    // One statement is a transaction of its own.
    sqlx::query_with(*statement, args).fetch_all(conn).await
}

/// A write transaction (`begin immediate`) on the writer connection. Dropped before
/// [`commit`](CommitWrite::commit), it is rolled back at once by a task that holds the writer
/// connection until then (or, outside a runtime, by the next holder before anything else).
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
            // Set while the guard is held: the next holder sees it.
            Err(_) => self.rollback_due.store(true, Ordering::SeqCst),
        }
    }
}
