//! [`QueueStore`](crate::QueueStore): the job queue and the worker-side writes, each fenced by
//! the job's lease token.
//!
//! A claim is one `update … where id = (select …) returning …` statement that commits before
//! the caller does any work. A worker's later write goes through only while `jobs.lease_token`
//! still equals the token of its claim: once the lease expired and another worker re-claimed
//! the job, the old holder gets `Stale` and its write does not happen. The writes of a running
//! execution (start, every step) are one statement each, fenced inside the statement
//! ([`lease_held_sql`]), because each round trip to the database costs more than the work of
//! a step; the writes that change two tables (finish, suspend, release) check the lease in the
//! same [`begin_write`](crate::sql::Dialect::begin_write) transaction. Either way no claim can
//! slip in between the check and the commit: on SQLite every write holds the one write lock;
//! on PostgreSQL the check locks the job row (`for share`) until commit, which a re-claim
//! (`for update skip locked`) passes over.
//!
//! Lock order (PostgreSQL): the transactions that touch an execution and its job lock the
//! execution first (an update, or the foreign-key check of a step insert) and the job second,
//! like the cascade of a workflow delete does, so they cannot deadlock each other; that is why
//! their lease check comes after the write. A one-statement write locks the job first (its
//! fence is evaluated before the row it writes is locked), but it only ever waits for the
//! execution row behind a delete (a workflow delete's cascade: the step insert's foreign-key
//! check takes a key-share lock, which status updates do not block) or behind another update
//! of the same execution, and no other transaction locks an execution and then a job under a
//! live lease. Were it ever to happen, PostgreSQL breaks the cycle by failing one of the two,
//! and the execution resumes from its last checkpoint after the lease expires.
//!
//! Every write that makes a job due now (create, retry, decision, release) or cancels an
//! execution also sends a [`QueueEvent`](crate::QueueEvent) in its own transaction
//! ([`Dialect::NOTIFY_JOB_DUE`](crate::sql::Dialect::NOTIFY_JOB_DUE)), so workers of other
//! processes hear of it at commit, and never of work that rolled back.

use crate::{ClaimedJob, StepWrite, StoreError, StoreResult};

/// Implements [`QueueStore`](crate::QueueStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_queue_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::automatrix_core::ExecutionStatus;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx::{self, FromRow as _, Row as _, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect, check_step_belongs_to, lease_lost};
            use $crate::{
                ClaimedJob, Execution, ExecutionOutcome, QueueStore, Start, Step, StepWrite,
                StoreError, StoreResult, WorkflowVersion,
            };

            type Connection = <<$store as Dialect>::Database as sqlx::Database>::Connection;

            /// See [`claim_job_sql`]($crate::sql::claim_job_sql).
            static CLAIM: LazyLock<String> =
                LazyLock::new(|| $crate::sql::claim_job_sql(<$store as Dialect>::LOCK_FOR_CLAIM));

            /// Finds the job only while the caller's lease token is still its token.
            static HOLDS_LEASE: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "select id from jobs where id = $1 and lease_token = $2{}",
                    <$store as Dialect>::LOCK_FOR_SHARE,
                )
            });

            /// Starts the execution (`$1`, at `$2`) if it is runnable and the job `$3` still
            /// has the lease token `$4`.
            static START: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "update executions set status = 'running', \
                         started_at = coalesce(started_at, $2), updated_at = $2 \
                     where id = $1 and status in ('pending', 'running', 'waiting') and {} \
                     returning *",
                    $crate::sql::lease_held_sql(<$store as Dialect>::LOCK_FOR_SHARE, 3, 4),
                )
            });

            /// `n` steps in one text (index `n`, from 1 to
            /// [`STEPS_PER_UNIT`]($crate::sql::STEPS_PER_UNIT)): `$3`…`$16`,
            /// then `$17`…`$30`, and so on. Each upserts a step if the job `$1` still has the
            /// lease token `$2`, and returns its execution's status then: no row means the lease
            /// is lost.
            static WRITE_STEPS: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
                let lock = <$store as Dialect>::LOCK_FOR_SHARE;
                (0..=$crate::sql::STEPS_PER_UNIT)
                    .map(|n| {
                        (0..n)
                            .map(|k| $crate::sql::write_step_sql(lock, (3 + 14 * k) as u8, true).leak() as &str)
                            .collect()
                    })
                    .collect()
            });

            type Arguments = <<$store as Dialect>::Database as sqlx::Database>::Arguments;

            /// Adds the fourteen values of `step` to `args`, in the order of
            /// [`write_step_sql`]($crate::sql::write_step_sql).
            fn add_step(args: &mut Arguments, step: &StepWrite) -> StoreResult<()> {
                use sqlx::Arguments as _;
                fn bind(e: $crate::__private::sqlx::error::BoxDynError) -> StoreError {
                    StoreError::Other(format!("binding a value: {e}"))
                }
                args.add(step.execution_id).map_err(bind)?;
                args.add(step.organization_id).map_err(bind)?;
                args.add(step.node_id.as_str()).map_err(bind)?;
                args.add(step.node_type.as_str()).map_err(bind)?;
                args.add(step.status.as_str()).map_err(bind)?;
                args.add(step.attempt).map_err(bind)?;
                args.add(step.input_data.as_ref().map(Json)).map_err(bind)?;
                args.add(step.output_data.as_ref().map(Json)).map_err(bind)?;
                args.add(step.output_port.as_deref()).map_err(bind)?;
                args.add(step.error_message.as_deref()).map_err(bind)?;
                args.add(step.started_at).map_err(bind)?;
                args.add(step.completed_at).map_err(bind)?;
                args.add(step.duration_ms).map_err(bind)?;
                args.add(step.now).map_err(bind)?;
                Ok(())
            }

            /// The status the last of a step unit's rows returned; no row: the lease is lost.
            fn status_after_steps(
                rows: &[<<$store as Dialect>::Database as sqlx::Database>::Row],
            ) -> StoreResult<ExecutionStatus> {
                let status: String = rows.last().ok_or_else(lease_lost)?.try_get(0)?;
                status.parse().map_err(|e| StoreError::Other(format!("{e}")))
            }

            // The units below bind `$1` job, `$2` the caller's lease token. Every statement is
            // fenced by the lease, so a stale caller changes no row at all, and the one on the
            // job returns a row when it went through.

            /// Finishes the execution (see [`finish_sql`]($crate::sql::finish_sql): `$3`…`$8`)
            /// after none, one (`$9`…`$22`), two (and `$23`…`$36`) … up to
            /// [`STEPS_PER_UNIT`]($crate::sql::STEPS_PER_UNIT) step upserts like
            /// those of [`WRITE_STEPS`] (index: the number of steps).
            static FINISH: LazyLock<Vec<Vec<&'static str>>> = LazyLock::new(|| {
                let lock = <$store as Dialect>::LOCK_FOR_SHARE;
                (0..=$crate::sql::STEPS_PER_UNIT).map(|steps| {
                    let mut unit: Vec<&'static str> = (0..steps)
                        .map(|k| $crate::sql::write_step_sql(lock, (9 + 14 * k) as u8, false).leak() as &str)
                        .collect();
                    unit.extend($crate::sql::finish_sql(lock, 3).map(|s| s.leak() as &str));
                    unit
                }).collect()
            });

            /// Parks a running execution (`$1`) until `$4` (null: until a decision) and gives
            /// its job (`$2`, under the caller's lease token `$3`) up; `$5` now.
            static SUSPEND: LazyLock<[&'static str; 2]> = LazyLock::new(|| {
                let fence = $crate::sql::lease_held_sql(<$store as Dialect>::LOCK_FOR_SHARE, 2, 3);
                [
                    format!(
                        "update executions set status = 'waiting', updated_at = $5 \
                         where id = $1 and status = 'running' and {fence}"
                    ).leak(),
                    "update jobs set locked_by = null, locked_until = null, lease_token = null, \
                         run_at = $4, updated_at = $5 \
                     where id = $2 and lease_token = $3 returning 1",
                ]
            });

            /// The claim ([`CLAIM`]: `$1` worker, `$2` now, `$3` lease end, `$4` lease token),
            /// then the start of the claimed job's execution, found by its lease (the lease index
            /// finds the few jobs whose lease ends at `$3`): one unit where units are one text.
            static CLAIM_AND_START: LazyLock<[&'static str; 2]> = LazyLock::new(|| {
                [
                    CLAIM.as_str(),
                    "update executions set status = 'running', \
                         started_at = coalesce(started_at, $2), updated_at = $2 \
                     where id = (select execution_id from jobs \
                                 where locked_until = $3 and lease_token = $4) \
                       and status in ('pending', 'running', 'waiting') \
                     returning *",
                ]
            });

            /// A unit's outcome: its job statement returns a row only under the caller's lease.
            fn fenced<R>(returned: &[R]) -> StoreResult<()> {
                if returned.is_empty() {
                    return Err(lease_lost());
                }
                Ok(())
            }

            #[async_trait]
            impl QueueStore for $store {
                async fn claim_job(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                ) -> StoreResult<Option<ClaimedJob>> {
                    let claim = sqlx::query_as::<_, ClaimedJob>(CLAIM.as_str())
                        .bind(worker)
                        .bind(now)
                        .bind(lease_until)
                        .bind(Uuid::now_v7());
                    Ok(claim.fetch_optional(&mut *self.writer().await?).await?)
                }

                async fn claim_next(
                    &self,
                    worker: &str,
                    now: DateTime<Utc>,
                    lease_until: DateTime<Utc>,
                ) -> StoreResult<Option<(ClaimedJob, Start)>> {
                    if !<$store as Dialect>::ONE_TEXT_UNITS {
                        let job = self.claim_job(worker, now, lease_until).await?;
                        return Ok(job.map(|job| (job, Start::Later)));
                    }
                    let args = $crate::__unit_args!($store; worker, now, lease_until, Uuid::now_v7());
                    let rows = self.run_unit(&CLAIM_AND_START[..], args).await?;
                    let mut rows = rows.iter();
                    let Some(job) = rows.next() else {
                        return Ok(None);
                    };
                    let job = ClaimedJob::from_row(job)?;
                    let start = match rows.next() {
                        Some(row) => Start::Started(Box::new(Execution::from_row(row)?)),
                        None => Start::NotRunnable,
                    };
                    Ok(Some((job, start)))
                }

                async fn heartbeat_job(
                    &self,
                    job: &ClaimedJob,
                    lease_until: DateTime<Utc>,
                ) -> StoreResult<()> {
                    // The trait passes no clock here; the lease end is the caller's, the audit
                    // time ours.
                    let done = sqlx::query(
                        "update jobs set locked_until = $3, updated_at = $4 \
                         where id = $1 and lease_token = $2",
                    )
                    .bind(job.id)
                    .bind(job.lease_token)
                    .bind(lease_until)
                    .bind(Utc::now())
                    .execute(&mut *self.writer().await?)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(lease_lost());
                    }
                    Ok(())
                }

                async fn load_execution(&self, id: Uuid) -> StoreResult<Option<Execution>> {
                    Ok(
                        sqlx::query_as::<_, Execution>("select * from executions where id = $1")
                            .bind(id)
                            .fetch_optional(self.pool())
                            .await?,
                    )
                }

                async fn start_execution(
                    &self,
                    job: &ClaimedJob,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<Execution>> {
                    // Anything not finished is runnable: `pending`, a `running` one whose
                    // worker died, and a `waiting` one whose resume time has come.
                    let execution = sqlx::query_as::<_, Execution>(START.as_str())
                        .bind(job.execution_id)
                        .bind(now)
                        .bind(job.id)
                        .bind(job.lease_token)
                        .fetch_optional(&mut *self.writer().await?)
                        .await?;
                    if execution.is_none() {
                        // Not runnable, or not ours to start: tell which.
                        check_lease(&mut *self.pool().acquire().await?, job).await?;
                    }
                    Ok(execution)
                }

                async fn load_workflow_version(
                    &self,
                    workflow_id: Uuid,
                    version: i64,
                ) -> StoreResult<Option<WorkflowVersion>> {
                    Ok(sqlx::query_as::<_, WorkflowVersion>(
                        "select * from workflow_versions where workflow_id = $1 and version = $2",
                    )
                    .bind(workflow_id)
                    .bind(version)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn load_steps(&self, execution_id: Uuid) -> StoreResult<Vec<Step>> {
                    Ok(sqlx::query_as::<_, Step>(
                        "select * from steps where execution_id = $1 \
                         order by coalesce(started_at, created_at), created_at, node_id, attempt",
                    )
                    .bind(execution_id)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn write_step(&self, job: &ClaimedJob, step: StepWrite) -> StoreResult<ExecutionStatus> {
                    check_step_belongs_to(job, &step)?;
                    let mut args = $crate::__unit_args!($store; job.id, job.lease_token);
                    add_step(&mut args, &step)?;
                    status_after_steps(&self.run_unit(&WRITE_STEPS[1][..], args).await?)
                }

                async fn write_steps(
                    &self,
                    job: &ClaimedJob,
                    steps: Vec<StepWrite>,
                ) -> StoreResult<ExecutionStatus> {
                    for step in &steps {
                        check_step_belongs_to(job, step)?;
                    }
                    let mut status = None;
                    // Where a unit is one text, up to STEPS_PER_UNIT steps share it (one hand-off
                    // and one commit); elsewhere statement by statement, as a transaction would
                    // only add its round trips.
                    let per_unit = if <$store as Dialect>::ONE_TEXT_UNITS {
                        $crate::sql::STEPS_PER_UNIT
                    } else {
                        1
                    };
                    for chunk in steps.chunks(per_unit) {
                        let mut args = $crate::__unit_args!($store; job.id, job.lease_token);
                        for step in chunk {
                            add_step(&mut args, step)?;
                        }
                        let unit = &WRITE_STEPS[chunk.len()][..];
                        status = Some(status_after_steps(&self.run_unit(unit, args).await?)?);
                    }
                    status.ok_or_else(|| StoreError::Other("no step to write".to_owned()))
                }

                async fn execution_status(&self, id: Uuid) -> StoreResult<Option<ExecutionStatus>> {
                    let status: Option<String> =
                        sqlx::query_scalar("select status from executions where id = $1")
                            .bind(id)
                            .fetch_optional(self.pool())
                            .await?;
                    status
                        .map(|s| s.parse().map_err(|e| StoreError::Other(format!("{e}"))))
                        .transpose()
                }

                async fn finish_execution(
                    &self,
                    job: &ClaimedJob,
                    mut outcome: ExecutionOutcome,
                ) -> StoreResult<()> {
                    for step in &outcome.steps {
                        check_step_belongs_to(job, step)?;
                    }
                    let in_unit = <$store as Dialect>::ONE_TEXT_UNITS
                        && outcome.steps.len() < FINISH.len()
                        && outcome.follow_up.is_none();
                    if !in_unit && !outcome.steps.is_empty() {
                        self.write_steps(job, std::mem::take(&mut outcome.steps)).await?;
                    }
                    let Some(next) = &outcome.follow_up else {
                        let mut args = $crate::__unit_args!($store;
                            job.id,
                            job.lease_token,
                            job.execution_id,
                            outcome.status.as_str(),
                            outcome.output.as_ref().map(Json),
                            outcome.error.as_deref(),
                            outcome.status.is_terminal().then_some(outcome.now),
                            outcome.now,
                        );
                        for step in &outcome.steps {
                            add_step(&mut args, step)?;
                        }
                        let unit = &FINISH[outcome.steps.len()][..];
                        return fenced(&self.run_unit(unit, args).await?);
                    };
                    // A failure that starts an error workflow: the two dialects' units cannot
                    // return the new execution, so this one is a transaction of its own.
                    let mut tx = self.begin_write().await?;
                    sqlx::query(FINISH[0][0])
                        .bind(job.id)
                        .bind(job.lease_token)
                        .bind(job.execution_id)
                        .bind(outcome.status.as_str())
                        .bind(outcome.output.as_ref().map(Json))
                        .bind(&outcome.error)
                        .bind(outcome.status.is_terminal().then_some(outcome.now))
                        .bind(outcome.now)
                        .execute(&mut *tx)
                        .await?;
                    delete_job(&mut tx, job).await?;
                    $crate::__insert_execution!($store, &mut *tx, next);
                    tx.commit().await?;
                    Ok(())
                }

                async fn suspend_execution(
                    &self,
                    job: &ClaimedJob,
                    resume_at: Option<DateTime<Utc>>,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let args = $crate::__unit_args!($store;
                        job.execution_id,
                        job.id,
                        job.lease_token,
                        resume_at,
                        now,
                    );
                    fenced(&self.run_unit(&SUSPEND[..], args).await?)
                }

                async fn release_job(&self, job: &ClaimedJob, now: DateTime<Utc>) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    unlease(&mut tx, job, Some(now), now).await?;
                    // A worker of another process resumes it now rather than at its next poll.
                    $crate::__notify_job_due!($store, &mut *tx);
                    tx.commit().await?;
                    Ok(())
                }

                async fn drop_job(&self, job: &ClaimedJob) -> StoreResult<()> {
                    let mut conn = self.writer().await?;
                    delete_job(&mut conn, job).await
                }

                async fn queue_stats(
                    &self,
                    now: DateTime<Utc>,
                ) -> StoreResult<$crate::QueueStats> {
                    let (due, running): (i64, i64) = sqlx::query_as($crate::sql::QUEUE_STATS)
                        .bind(now)
                        .fetch_one(self.pool())
                        .await?;
                    let count = |n: i64| u64::try_from(n).unwrap_or(0);
                    Ok($crate::QueueStats {
                        due: count(due),
                        running: count(running),
                    })
                }

                async fn subscribe_queue_events(
                    &self,
                ) -> StoreResult<Option<$crate::QueueEvents>> {
                    <$store as Dialect>::listen_for_queue_events(self).await
                }
            }

            /// `Stale` unless `job` still holds its lease. The answer holds until the
            /// transaction ends: under SQLite's write lock nothing else writes, and on
            /// PostgreSQL the row lock makes a claimer skip the row (or, if it got there first,
            /// makes us wait and then see its new token).
            async fn check_lease(conn: &mut Connection, job: &ClaimedJob) -> StoreResult<()> {
                let held: Option<Uuid> = sqlx::query_scalar(HOLDS_LEASE.as_str())
                    .bind(job.id)
                    .bind(job.lease_token)
                    .fetch_optional(conn)
                    .await?;
                held.map(|_| ()).ok_or_else(lease_lost)
            }

            /// Gives up the lease (fenced by it) and makes the job due at `run_at`.
            async fn unlease(
                conn: &mut Connection,
                job: &ClaimedJob,
                run_at: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "update jobs set locked_by = null, locked_until = null, lease_token = null, \
                         run_at = $3, updated_at = $4 \
                     where id = $1 and lease_token = $2",
                )
                .bind(job.id)
                .bind(job.lease_token)
                .bind(run_at)
                .bind(now)
                .execute(conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(lease_lost());
                }
                Ok(())
            }

            /// Deletes the job if `job` still holds its lease, `Stale` otherwise.
            async fn delete_job(conn: &mut Connection, job: &ClaimedJob) -> StoreResult<()> {
                let done = sqlx::query("delete from jobs where id = $1 and lease_token = $2")
                    .bind(job.id)
                    .bind(job.lease_token)
                    .execute(conn)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(lease_lost());
                }
                Ok(())
            }
        };
    };
}

/// The claim, with the dialect's `lock_for_claim` clause
/// ([`Dialect::LOCK_FOR_CLAIM`](crate::sql::Dialect::LOCK_FOR_CLAIM)): `$1` worker, `$2` now,
/// `$3` lease end, `$4` the new lease token.
///
/// It leases a job whose lease expired (its worker died; the longest expired first), else the
/// oldest due job that was never leased. Each of the two candidates is the first row of its
/// partial index (`jobs_lease_idx`, `jobs_due_idx`) that no other claimer holds, so a claim
/// reads a few index entries however long the queue is. (One `where … or …` over both sets,
/// ordered by `run_at`, made PostgreSQL scan and sort every due job on each claim.) The second
/// candidate is only looked up when there is no first: `coalesce` stops at its first value.
#[doc(hidden)]
pub fn claim_job_sql(lock_for_claim: &str) -> String {
    format!(
        "update jobs set locked_by = $1, locked_until = $3, lease_token = $4, \
             claims = claims + 1, updated_at = $2 \
         where id = coalesce( \
             (select id from jobs where locked_until < $2 \
              order by locked_until limit 1{lock_for_claim}), \
             (select id from jobs where locked_until is null and run_at <= $2 \
              order by run_at, id limit 1{lock_for_claim})) \
         returning id, execution_id, organization_id, lease_token, locked_until, claims, \
             trace_context"
    )
}

/// Counts the jobs due at `$1` (never leased and due, or under an expired lease: what a claim
/// takes) and those under a live lease. The jobs table holds unfinished executions only.
#[doc(hidden)]
pub const QUEUE_STATS: &str = "select \
        coalesce(sum(case when (locked_until is null and run_at <= $1) or locked_until < $1 \
                          then 1 else 0 end), 0), \
        coalesce(sum(case when locked_until >= $1 then 1 else 0 end), 0) \
     from jobs";

/// The most steps one unit writes where a unit is one text (SQLite): a chain of pure steps
/// written with its outcome is then one unit, not one per pair. Their parameters (14 each,
/// after the finish's 8) must stay numbered below 256.
pub const STEPS_PER_UNIT: usize = 16;
const _: () = assert!(9 + 14 * STEPS_PER_UNIT < 256);

/// The upsert of a step whose fourteen values are `$first`…`$first + 13` (execution,
/// organization, node, type, status, attempt, input, output, port, error, start, completion,
/// duration, now), fenced by the lease of job `$1` with token `$2` (with the dialect's
/// `lock_for_share` clause). With `returning` it returns the execution's status, or no row
/// when the lease is lost (a unit that checks the lease elsewhere needs no row from it).
#[doc(hidden)]
pub fn write_step_sql(lock_for_share: &str, first: u8, returning: bool) -> String {
    let p: Vec<String> = (first..first + 14).map(|n| format!("${n}")).collect();
    format!(
        "insert into steps (execution_id, organization_id, node_id, node_type, status, \
             attempt, input_data, output_data, output_port, error_message, started_at, \
             completed_at, duration_ms, created_at, updated_at) \
         select {values}, {now} \
         where {fence} \
         on conflict (execution_id, node_id, attempt) do update set \
             node_type = excluded.node_type, status = excluded.status, \
             input_data = excluded.input_data, output_data = excluded.output_data, \
             output_port = excluded.output_port, error_message = excluded.error_message, \
             started_at = excluded.started_at, completed_at = excluded.completed_at, \
             duration_ms = excluded.duration_ms, updated_at = excluded.updated_at{returning}",
        values = p.join(", "),
        now = p[13],
        fence = lease_held_sql(lock_for_share, 1, 2),
        returning = if returning {
            format!(
                " returning (select status from executions where id = {})",
                p[0]
            )
        } else {
            String::new()
        },
    )
}

/// Finishes an execution (one that finished meanwhile, typically cancelled, keeps its state)
/// and deletes its job `$1`, both only under the lease token `$2`. From `$first` on: the
/// execution, its status, output, error, completion time (null unless terminal) and now.
#[doc(hidden)]
pub fn finish_sql(lock_for_share: &str, first: u8) -> [String; 2] {
    let p = |k: u8| format!("${}", first + k);
    [
        format!(
            "update executions set status = {status}, output_data = {output}, \
                 error_message = {error}, completed_at = {completed}, updated_at = {now} \
             where id = {execution} and status not in ('completed', 'failed', 'cancelled') \
               and {fence}",
            execution = p(0),
            status = p(1),
            output = p(2),
            error = p(3),
            completed = p(4),
            now = p(5),
            fence = lease_held_sql(lock_for_share, 1, 2),
        ),
        "delete from jobs where id = $1 and lease_token = $2 returning 1".to_owned(),
    ]
}

/// The fence of a worker's one-statement write: true while the job `$id` still has the lease
/// token `$token`, with the dialect's `lock_for_share` clause
/// ([`Dialect::LOCK_FOR_SHARE`](crate::sql::Dialect::LOCK_FOR_SHARE)), which on PostgreSQL
/// keeps the job row locked until the statement commits, so no re-claim commits in between.
#[doc(hidden)]
pub fn lease_held_sql(lock_for_share: &str, id: u8, token: u8) -> String {
    format!(
        "exists (select 1 from jobs where id = ${id} and lease_token = ${token}{lock_for_share})"
    )
}

/// A worker writes steps of the execution it claimed, in that execution's organization.
pub fn check_step_belongs_to(job: &ClaimedJob, step: &StepWrite) -> StoreResult<()> {
    if step.execution_id != job.execution_id || step.organization_id != job.organization_id {
        return Err(StoreError::Other(format!(
            "step {} is not part of the claimed execution {}",
            step.node_id, job.execution_id
        )));
    }
    Ok(())
}

/// The error of a write whose lease another worker holds now.
pub fn lease_lost() -> StoreError {
    StoreError::Stale("the job's lease is held by another worker".to_owned())
}
