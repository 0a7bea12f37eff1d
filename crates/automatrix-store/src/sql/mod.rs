//! The SQL implementation of the store traits, written once for SQLite and PostgreSQL.
//!
//! A store crate connects its pool and states what its dialect does differently by
//! implementing [`Dialect`] for its store type (how a write transaction begins, the row-lock
//! clauses, its migrations), then expands [`impl_sql_store!`](crate::impl_sql_store), which
//! implements [`Store`](crate::Store) and its super-traits for that type with the code of
//! this module's files, one per trait.
//!
//! Why a macro rather than code generic over `sqlx::Database`: every query would need a bound
//! per bound value and row type (`Uuid: Encode<'q, DB> + Type<DB>`, `User: FromRow<'r,
//! DB::Row>`, an `Executor` bound on `&mut DB::Connection`, …), and Rust does not carry such
//! where-clauses from a trait to its users, so each function would restate them. Expanded in
//! the store crate, which has the driver, the same text is ordinary code on concrete types.
//!
//! The SQL is one text for both dialects: `$N` placeholders (sqlx-sqlite binds them by number),
//! `on conflict`, `returning`, and timestamps always bound from Rust, never `now()`, so both
//! backends see the caller's clock. Only the row locks differ, and those are constants of the
//! dialect: a statement that needs one is formatted once, on first use, from fixed text and
//! that constant (never from a value: values are always bound).

use std::ops::DerefMut;

#[doc(hidden)]
pub mod ai;
mod api_keys;
mod audit;
mod credentials;
mod executions;
#[doc(hidden)]
pub mod kv;
mod live;
#[doc(hidden)]
pub mod metrics;
mod mfa;
mod orgs;
mod queue;
mod sso;
mod templates;
mod throttle;
mod users;
mod workflows;

#[doc(hidden)]
pub use ai::group_ai_usage;
#[doc(hidden)]
pub use api_keys::api_key_name_taken;
#[doc(hidden)]
pub use audit::like_escape;
#[doc(hidden)]
pub use credentials::{SealedColumnSql, credential_name_taken, sealed_column_sql};
#[doc(hidden)]
pub use orgs::already_member;
#[doc(hidden)]
pub use queue::{
    QUEUE_STATS, STEPS_PER_UNIT, check_step_belongs_to, claim_job_sql, finish_sql, lease_held_sql,
    lease_lost, write_step_sql,
};
#[doc(hidden)]
pub use sso::sso_domain_taken;
#[doc(hidden)]
pub use users::{INSERT_USER, USER_BY_EMAIL, USER_BY_ID, email_taken};

/// Enqueues an execution: `$1` job id, `$2` execution id, `$3` organization, `$4` due time
/// (also the creation time), `$5` the trace context its run continues. Shared by every path
/// that queues work.
#[doc(hidden)]
pub const INSERT_JOB: &str = "insert into jobs (id, execution_id, organization_id, run_at, \
         trace_context, created_at, updated_at) values ($1, $2, $3, $4, $5, $4, $4)";

/// Inserts a job leased to its creator: `$1` id, `$2` execution, `$3` organization, `$4` now,
/// `$5` worker, `$6` lease end, `$7` lease token, `$8` trace context.
#[doc(hidden)]
pub const INSERT_LEASED_JOB: &str = "insert into jobs (id, execution_id, organization_id, \
         run_at, locked_by, locked_until, lease_token, claims, trace_context, created_at, \
         updated_at) \
     values ($1, $2, $3, $4, $5, $6, $7, 1, $8, $4, $4)";

/// Inserts an execution only if its pinned version exists in its organization: `$1` id,
/// `$2` organization, `$3` workflow, `$4` version, `$5` input, `$6` dry run, `$7` now, `$8`
/// its start (null: pending; else running, run by its creator), `$9` the request id.
#[doc(hidden)]
pub const INSERT_EXECUTION: &str = "insert into executions (id, organization_id, workflow_id, \
         workflow_version, status, input_data, dry_run, started_at, request_id, created_at, \
         updated_at) \
     select $1, $2, $3, $4, case when $8 is null then 'pending' else 'running' end, $5, $6, $8, \
         $9, $7, $7 \
     where exists (select 1 from workflow_versions \
                   where organization_id = $2 and workflow_id = $3 and version = $4) \
     returning *";

/// What the shared SQL needs from a store, and what differs between the dialects.
///
/// The lock clauses start with a space (` for update`) or are empty: on SQLite every
/// read-then-write transaction begins with `begin immediate`, which holds the one write lock of
/// the database from its first statement, so there is nothing to lock row by row (and no
/// syntax for it).
pub trait Dialect: Send + Sync {
    /// The sqlx driver.
    type Database: sqlx::Database;

    /// What [`Store::backend`](crate::Store::backend) reports: `sqlite` or `postgres`.
    const BACKEND: &'static str;
    /// Ends the select of the row a transaction is about to update (` for update`), so that
    /// concurrent updates of that row take turns instead of both working from the same read.
    const LOCK_FOR_UPDATE: &'static str;
    /// Ends the lease check of a worker's write (` for share`): the job row stays locked until
    /// commit, so a re-claim cannot slip in between the check and the commit.
    const LOCK_FOR_SHARE: &'static str;
    /// Ends the claim's choice of a job (` for update skip locked`), so that concurrent
    /// claimers pass over each other's candidate rows instead of queueing on them.
    const LOCK_FOR_CLAIM: &'static str;
    /// What gives the space of deleted rows back to the file system after pruning
    /// (SQLite: `pragma incremental_vacuum`); `None` where the database does it itself
    /// (PostgreSQL's autovacuum).
    const RECLAIM_SPACE: Option<&'static str>;
    /// The statement that tells the other processes, inside the caller's transaction, that a
    /// job is due now (PostgreSQL: `select pg_notify(…)`, delivered at commit); `None` where
    /// there are no other processes to tell (SQLite). See [`crate::QueueEvent`].
    const NOTIFY_JOB_DUE: Option<&'static str>;
    /// Likewise for a cancelled execution, whose id (as text) is bound to `$1`.
    const NOTIFY_EXECUTION_CANCELLED: Option<&'static str>;
    /// The statement that sends live events (payload bound to `$1`) to every process, or
    /// `None` where there are no others (SQLite). See [`crate::LiveStore`].
    const NOTIFY_LIVE: Option<&'static str>;
    /// The UTC hour of an execution's `created_at` as text, `YYYY-MM-DDTHH` (`2026-03-01T09`):
    /// the hour bucket of a metrics summary (see [`metrics`]).
    const CREATED_HOUR: &'static str;
    /// Likewise the UTC day, `YYYY-MM-DD`.
    const CREATED_DAY: &'static str;
    /// An execution's run time, from `started_at` to `completed_at`, in whole milliseconds
    /// (a bigint, rounded).
    const RUN_MS: &'static str;
    /// The store crate's embedded `migrations/`.
    const MIGRATOR: &'static sqlx::migrate::Migrator;

    /// The store's connection pool.
    fn pool(&self) -> &sqlx::Pool<Self::Database>;

    /// A connection that writes, held until it is dropped.
    type Writer: DerefMut<Target = <Self::Database as sqlx::Database>::Connection> + Send;
    /// What [`begin_write`](Self::begin_write) begins: used as a connection, ended with
    /// [`CommitWrite::commit`], rolled back when dropped uncommitted.
    type WriteTransaction: DerefMut<Target = <Self::Database as sqlx::Database>::Connection>
        + CommitWrite
        + Send;

    /// The connection for a write that is one statement, outside any transaction: on
    /// PostgreSQL a connection of the pool; on SQLite the one writer connection that
    /// [`begin_write`](Self::begin_write) uses too, so that every write of the process takes
    /// its turn there and none meets the write lock held by another of its own connections.
    fn writer(&self) -> impl Future<Output = sqlx::Result<Self::Writer>> + Send;

    /// Begins a transaction that reads and then writes: on SQLite `begin immediate` on the
    /// writer connection, which takes the write lock up front; on PostgreSQL a plain `begin`,
    /// the row locks above doing that job.
    fn begin_write(&self) -> impl Future<Output = sqlx::Result<Self::WriteTransaction>> + Send;

    /// Whether [`run_unit`](Self::run_unit) sends a unit as one text (SQLite). Then the claim
    /// of a job and the start of its execution are one unit too; where units go statement by
    /// statement (PostgreSQL) the claim commits alone and the worker starts the execution
    /// later, off its claim loop, because a transaction of both would lock the job before the
    /// execution (see the lock order in `queue.rs`).
    const ONE_TEXT_UNITS: bool;

    /// Runs the statements of `unit`, whose `$N` all number into `args`, as one transaction
    /// and returns the rows they returned (`returning …`), in order. SQLite sends them as one
    /// text (`begin immediate; …; commit`: one hand-off to the connection's thread instead of
    /// one per statement); PostgreSQL runs them one after the other in a transaction, each
    /// with all of `args` (a parameter a statement does not use is still typed by its value).
    /// A unit of one statement runs without `begin` and `commit`: it is a transaction itself.
    fn run_unit(
        &self,
        unit: &'static [&'static str],
        args: <Self::Database as sqlx::Database>::Arguments,
    ) -> impl Future<Output = sqlx::Result<Vec<<Self::Database as sqlx::Database>::Row>>> + Send;

    /// Closes every connection of the store (more than [`pool`](Self::pool) when the store
    /// keeps a separate writer).
    fn close_pools(&self) -> impl Future<Output = ()> + Send {
        self.pool().close()
    }

    /// What [`QueueStore::subscribe_queue_events`](crate::QueueStore::subscribe_queue_events)
    /// returns: by default nothing, for a dialect whose `NOTIFY_*` statements are `None`.
    fn listen_for_queue_events(
        &self,
    ) -> impl Future<Output = crate::StoreResult<Option<crate::QueueEvents>>> + Send {
        async { Ok(None) }
    }

    /// What [`LiveStore::subscribe_live_events`](crate::LiveStore::subscribe_live_events)
    /// returns: by default nothing, for a dialect whose `NOTIFY_LIVE` is `None`.
    fn listen_for_live_events(
        &self,
    ) -> impl Future<Output = crate::StoreResult<Option<crate::LiveEvents>>> + Send {
        async { Ok(None) }
    }
}

/// Runs [`Dialect::NOTIFY_JOB_DUE`] of `$store` on `$conn` (inside the caller's transaction),
/// if the dialect has one; `?` on failure.
#[doc(hidden)]
#[macro_export]
macro_rules! __notify_job_due {
    ($store:ty, $conn:expr) => {
        if let Some(sql) = <$store as $crate::sql::Dialect>::NOTIFY_JOB_DUE {
            $crate::__private::sqlx::query(sql).execute($conn).await?;
        }
    };
}

/// Runs [`Dialect::NOTIFY_EXECUTION_CANCELLED`] of `$store` for execution `$id` on `$conn`
/// (inside the caller's transaction), if the dialect has one; `?` on failure.
#[doc(hidden)]
#[macro_export]
macro_rules! __notify_execution_cancelled {
    ($store:ty, $conn:expr, $id:expr) => {
        if let Some(sql) = <$store as $crate::sql::Dialect>::NOTIFY_EXECUTION_CANCELLED {
            $crate::__private::sqlx::query(sql)
                .bind($id.to_string())
                .execute($conn)
                .await?;
        }
    };
}

/// The arguments of a [`Dialect::run_unit`] for `$store`: `__unit_args!(Store; a, b, …)`
/// binds `a` to `$1`, `b` to `$2`, …; `?` when a value cannot be encoded.
#[doc(hidden)]
#[macro_export]
macro_rules! __unit_args {
    ($store:ty; $($value:expr),+ $(,)?) => {{
        use $crate::__private::sqlx::Arguments as _;
        let mut args = <<$store as $crate::sql::Dialect>::Database as $crate::__private::sqlx::Database>::Arguments::default();
        $(
            args.add($value)
                .map_err(|e| $crate::StoreError::Other(format!("binding a value: {e}")))?;
        )+
        args
    }};
}

/// Ends a [`Dialect::WriteTransaction`].
pub trait CommitWrite {
    fn commit(self) -> impl Future<Output = sqlx::Result<()>> + Send;
}

/// PostgreSQL's write transactions are sqlx's own, on a connection of the pool.
impl<DB: sqlx::Database> CommitWrite for sqlx::Transaction<'static, DB> {
    fn commit(self) -> impl Future<Output = sqlx::Result<()>> + Send {
        sqlx::Transaction::commit(self)
    }
}

/// Implements [`Store`](crate::Store), [`UserStore`](crate::UserStore),
/// [`WorkflowStore`](crate::WorkflowStore), [`ExecutionStore`](crate::ExecutionStore),
/// [`QueueStore`](crate::QueueStore), [`CredentialStore`](crate::CredentialStore),
/// [`KvStore`](crate::KvStore), [`AiStore`](crate::AiStore),
/// [`MetricsStore`](crate::MetricsStore), [`ApiKeyStore`](crate::ApiKeyStore) and the rest of
/// [`Store`](crate::Store)'s super-traits for a store type that implements
/// [`Dialect`](crate::sql::Dialect), with the SQL of [`crate::sql`]; and gives the type the
/// inherent `open`, `migrate` and `close` that every store has around its own `connect`.
///
/// Expand it once, in the store crate (which enables the sqlx driver), next to the type:
///
/// ```ignore
/// automatrix_store::impl_sql_store!(SqliteStore);
/// ```
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty) => {
        impl $store {
            /// [`connect`](Self::connect), then [`migrate`](Self::migrate).
            pub async fn open(url: &str) -> $crate::StoreResult<Self> {
                let store = Self::connect(url).await?;
                store.migrate().await?;
                Ok(store)
            }

            /// Applies the pending migrations of `migrations/`. (On PostgreSQL sqlx takes an
            /// advisory lock, so processes starting together apply them once.)
            pub async fn migrate(&self) -> $crate::StoreResult<()> {
                let pool = $crate::sql::Dialect::pool(self);
                <$store as $crate::sql::Dialect>::MIGRATOR.run(pool).await?;
                Ok(())
            }

            /// Closes every connection; later calls fail with `Unavailable`.
            pub async fn close(&self) {
                $crate::sql::Dialect::close_pools(self).await;
            }
        }

        const _: () = {
            use $crate::__private::async_trait;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{Store, StoreResult};

            #[async_trait]
            impl Store for $store {
                async fn ping(&self) -> StoreResult<()> {
                    $crate::__private::sqlx::query("select 1")
                        .execute(self.pool())
                        .await?;
                    Ok(())
                }

                fn backend(&self) -> &'static str {
                    <$store as Dialect>::BACKEND
                }

                async fn prune_executions(
                    &self,
                    finished_before: $crate::__private::chrono::DateTime<
                        $crate::__private::chrono::Utc,
                    >,
                    batch: u32,
                ) -> StoreResult<u64> {
                    // Steps go with their execution (cascade).
                    let done = $crate::__private::sqlx::query(
                        "delete from executions where id in (\
                             select id from executions \
                             where status in ('completed', 'failed', 'cancelled') \
                               and completed_at < $1 \
                             order by completed_at limit $2)",
                    )
                    .bind(finished_before)
                    .bind(i64::from(batch))
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected())
                }

                async fn reclaim_space(&self) -> StoreResult<()> {
                    if let Some(sql) = <$store as Dialect>::RECLAIM_SPACE {
                        $crate::__private::sqlx::query(sql)
                            .execute(&mut *self.writer().await?)
                            .await?;
                    }
                    Ok(())
                }
            }
        };
        $crate::__impl_user_store!($store);
        $crate::__impl_mfa_store!($store);
        $crate::__impl_throttle_store!($store);
        $crate::__impl_workflow_store!($store);
        $crate::__impl_execution_store!($store);
        $crate::__impl_queue_store!($store);
        $crate::__impl_credential_store!($store);
        $crate::__impl_kv_store!($store);
        $crate::__impl_ai_store!($store);
        $crate::__impl_metrics_store!($store);
        $crate::__impl_api_key_store!($store);
        $crate::__impl_template_store!($store);
        $crate::__impl_org_store!($store);
        $crate::__impl_audit_store!($store);
        $crate::__impl_sso_store!($store);
        $crate::__impl_live_store!($store);
    };
}

/// Maps a unique violation to `Conflict(what)`: the caller knows which rule it can only be,
/// and says so rather than pass on the database's wording.
pub(crate) fn conflict_means(e: sqlx::Error, what: &str) -> crate::StoreError {
    match crate::StoreError::from(e) {
        crate::StoreError::Conflict(_) => crate::StoreError::Conflict(what.to_owned()),
        other => other,
    }
}
