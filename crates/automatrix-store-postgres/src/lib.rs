//! PostgreSQL implementation of the AutoMatrix store (`postgres://…` URLs): the scale-out mode,
//! where any number of API and worker processes share one database.
//!
//! The job queue lives in the same database: a claim is one `update … where id = (select … for
//! update skip locked) returning …` statement, so concurrent workers pass over each other's
//! rows, and every later worker write is fenced by the claim's lease token (see `queue`).
//! Creating an execution and enqueueing its job share one transaction.
//!
//! The SQL is the same text as in `automatrix-store-sqlite` wherever the dialects agree
//! (`$N` placeholders, `on conflict`, `returning`); timestamps are bound from Rust, never
//! `now()`, so both backends see the caller's clock.

mod executions;
mod queue;
#[cfg(feature = "testing")]
pub mod testing;
mod users;
mod workflows;

use async_trait::async_trait;
use automatrix_store::{Store, StoreResult};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

/// The embedded migrations of `migrations/`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::sqlx_macros::migrate!("./migrations");

/// A [`Store`] on one PostgreSQL database. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects a pool to `url`, e.g. `postgres://user:pass@host:5432/automatrix`. Does not
    /// migrate: see [`migrate`](Self::migrate) or [`open`](Self::open).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new().connect(url).await?;
        Ok(Self { pool })
    }

    /// [`connect`](Self::connect), then [`migrate`](Self::migrate).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the pending migrations (sqlx takes an advisory lock, so concurrent processes
    /// starting together apply them once).
    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Wraps an existing pool, e.g. one with tuned sizes and timeouts.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The underlying pool (for `LISTEN/NOTIFY`, say).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction for a read followed by writes. Named as in the SQLite store, where it
    /// takes the write lock up front; here row locks (`for update`/`for share`) do that job.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
