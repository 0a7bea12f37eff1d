//! PostgreSQL implementation of the AutoMatrix store (`postgres://…` URLs): the scale-out mode,
//! where any number of API and worker processes share one database.
//!
//! The job queue lives in the same database: a claim is one `update … where id = (select … for
//! update skip locked) returning …` statement, so concurrent workers pass over each other's
//! rows, and every later worker write is fenced by the claim's lease token. Creating an
//! execution and enqueueing its job share one transaction.
//!
//! It is the event bus too: whatever makes a job due or cancels an execution sends a `NOTIFY`
//! in the same transaction, and workers `LISTEN` (see [`events`]).
//!
//! The SQL is shared with `automatrix-store-sqlite` (see `automatrix_store::sql`); this crate
//! holds the connection setup, the migrations and its [`Dialect`]: the row locks and the
//! notifications.

mod events;
#[cfg(feature = "testing")]
pub mod testing;

pub use events::{CANCELS_CHANNEL, JOBS_CHANNEL};

use automatrix_store::sql::Dialect;
use automatrix_store::{LiveEvents, QueueEvents, StoreResult};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Transaction};

/// The embedded migrations of `migrations/`.
static MIGRATOR: Migrator = sqlx::sqlx_macros::migrate!("./migrations");

/// A [`Store`](automatrix_store::Store) on one PostgreSQL database. Cheap to clone: clones
/// share the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects a pool to `url`, e.g. `postgres://user:pass@host:5432/automatrix`. Does not
    /// migrate: see [`migrate`](Self::migrate) or [`open`](Self::open).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        // No ping before each checkout: it doubled the round trips of every store call. A
        // connection that died surfaces as one failed call (503 or a worker retry), and the
        // pool drops it.
        let pool = PgPoolOptions::new()
            .test_before_acquire(false)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool, e.g. one with tuned sizes and timeouts.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }
}

// `open`, `migrate`, `close` and the store traits, in SQL shared with the SQLite store.
automatrix_store::impl_sql_store!(PgStore);

/// Row locks let transactions on different rows run side by side; see the constants' docs.
impl Dialect for PgStore {
    type Database = Postgres;
    type Writer = PoolConnection<Postgres>;
    type WriteTransaction = Transaction<'static, Postgres>;

    const BACKEND: &'static str = "postgres";
    const LOCK_FOR_UPDATE: &'static str = " for update";
    const LOCK_FOR_SHARE: &'static str = " for share";
    const LOCK_FOR_CLAIM: &'static str = " for update skip locked";
    const RECLAIM_SPACE: Option<&'static str> = None;
    const NOTIFY_JOB_DUE: Option<&'static str> = Some(events::NOTIFY_JOB_DUE);
    const NOTIFY_EXECUTION_CANCELLED: Option<&'static str> =
        Some(events::NOTIFY_EXECUTION_CANCELLED);
    const NOTIFY_LIVE: Option<&'static str> = Some(events::NOTIFY_LIVE);
    const CREATED_HOUR: &'static str =
        "to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24')";
    const CREATED_DAY: &'static str = "to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')";
    const RUN_MS: &'static str =
        "cast(round(extract(epoch from (completed_at - started_at)) * 1000) as bigint)";
    const MIGRATOR: &'static Migrator = &MIGRATOR;
    const ONE_TEXT_UNITS: bool = false;

    /// The underlying pool (for `LISTEN/NOTIFY`, say).
    fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Any connection of the pool: PostgreSQL takes writers side by side.
    async fn writer(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A plain `begin`: the row locks above keep a read true until the write.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    /// The statements one by one in a transaction, each with every argument (one statement
    /// alone, without `begin` and `commit`).
    async fn run_unit(
        &self,
        unit: &'static [&'static str],
        args: PgArguments,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        if let [statement] = unit {
            return sqlx::query_with(*statement, args)
                .fetch_all(&self.pool)
                .await;
        }
        let mut tx = self.pool.begin().await?;
        let mut returned = Vec::new();
        for sql in unit {
            let rows = sqlx::query_with(*sql, args.clone())
                .fetch_all(&mut *tx)
                .await?;
            returned.extend(rows);
        }
        tx.commit().await?;
        Ok(returned)
    }

    /// `LISTEN` on the queue's channels (see [`events`]).
    async fn listen_for_queue_events(&self) -> StoreResult<Option<QueueEvents>> {
        events::subscribe(&self.pool).await.map(Some)
    }

    /// `LISTEN` on the live events' channel (see [`events`]).
    async fn listen_for_live_events(&self) -> StoreResult<Option<LiveEvents>> {
        events::subscribe_live(&self.pool).await.map(Some)
    }
}
