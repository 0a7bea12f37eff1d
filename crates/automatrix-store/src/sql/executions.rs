//! [`ExecutionStore`](crate::ExecutionStore): executions as the API sees them (tenant-scoped),
//! their step logs, and cancellation.

/// Implements [`ExecutionStore`](crate::ExecutionStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_execution_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx::{self, FromRow as _, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{
                CancelOutcome, CreateOnce, DecideOutcome, Execution, ExecutionFilter,
                ExecutionStore, NewExecution, RetryOutcome, Step, StoreError, StoreResult,
            };

            type Connection = <<$store as Dialect>::Database as sqlx::Database>::Connection;

            static LATEST_WAITING_STEP: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| {
                    format!(
                        "select * from steps where organization_id = $1 and execution_id = $2 \
                           and node_id = $3 order by attempt desc limit 1{}",
                        <$store as Dialect>::LOCK_FOR_UPDATE,
                    )
                });

            /// [`INSERT_EXECUTION`]($crate::sql::INSERT_EXECUTION) (`$1`…`$9`), then its job
            /// (`$10`, due at once; leased to `$11` until `$12` under `$13` when the execution
            /// starts running; continuing the trace `$14`) when the execution went in: the unit
            /// of `create_execution` where units are one text (no notification to send there).
            static CREATE: [&str; 2] = [
                $crate::sql::INSERT_EXECUTION,
                "insert into jobs (id, execution_id, organization_id, run_at, locked_by, \
                     locked_until, lease_token, claims, trace_context, created_at, updated_at) \
                 select $10, $1, $2, $7, $11, $12, $13, case when $13 is null then 0 else 1 end, \
                     $14, $7, $7 \
                 where exists (select 1 from executions where id = $1)",
            ];

            #[async_trait]
            impl ExecutionStore for $store {
                async fn create_execution(&self, new: NewExecution) -> StoreResult<Execution> {
                    if <$store as Dialect>::ONE_TEXT_UNITS {
                        // One round trip: the execution, then its job if it was inserted.
                        let lease = new.lease.as_ref();
                        let args = $crate::__unit_args!($store;
                            new.id,
                            new.organization_id,
                            new.workflow_id,
                            new.workflow_version,
                            Json(&new.input),
                            new.dry_run,
                            new.now,
                            lease.map(|_| new.now),
                            new.origin.request_id.as_deref(),
                            lease.map_or_else(Uuid::now_v7, |l| l.job_id),
                            lease.map(|l| l.worker.as_str()),
                            lease.map(|l| l.until),
                            lease.map(|l| l.token),
                            new.origin.trace_context.as_deref(),
                        );
                        let rows = self.run_unit(&CREATE[..], args).await?;
                        let row = rows.first().ok_or(StoreError::NotFound)?;
                        return Ok(Execution::from_row(row)?);
                    }
                    let mut tx = self.begin_write().await?;
                    let execution = $crate::__insert_execution!($store, &mut *tx, &new);
                    tx.commit().await?;
                    Ok(execution)
                }

                async fn create_execution_once(
                    &self,
                    new: NewExecution,
                    key: &str,
                    fresh_since: DateTime<Utc>,
                ) -> StoreResult<CreateOnce> {
                    let mut tx = self.begin_write().await?;
                    let execution = $crate::__insert_execution!($store, &mut *tx, &new);
                    // Ours unless a fresh row holds the key. On PostgreSQL a concurrent holder
                    // makes this wait for its commit, then see its row.
                    let claimed: Option<Uuid> = sqlx::query_scalar(
                        "insert into idempotency_keys (workflow_id, key, execution_id, created_at) \
                         values ($1, $2, $3, $4) \
                         on conflict (workflow_id, key) do update set \
                             execution_id = excluded.execution_id, \
                             created_at = excluded.created_at \
                         where idempotency_keys.created_at < $5 \
                         returning execution_id",
                    )
                    .bind(new.workflow_id)
                    .bind(key)
                    .bind(execution.id)
                    .bind(new.now)
                    .bind(fresh_since)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if claimed.is_some() {
                        tx.commit().await?;
                        return Ok(CreateOnce::Created(execution));
                    }
                    // The execution just inserted goes with the rollback.
                    drop(tx);
                    let existing = sqlx::query_as::<_, Execution>(
                        "select e.* from idempotency_keys k \
                         join executions e on e.id = k.execution_id \
                         where k.workflow_id = $1 and k.key = $2",
                    )
                    .bind(new.workflow_id)
                    .bind(key)
                    .fetch_optional(self.pool())
                    .await?
                    .ok_or_else(|| {
                        StoreError::Conflict("the idempotency key was released meanwhile".into())
                    })?;
                    Ok(CreateOnce::Existing(existing))
                }

                async fn get_execution(
                    &self,
                    org: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<Execution>> {
                    let mut conn = self.pool().acquire().await?;
                    select_execution(&mut conn, org, id).await
                }

                async fn list_executions(
                    &self,
                    org: Uuid,
                    filter: &ExecutionFilter,
                ) -> StoreResult<Vec<Execution>> {
                    // Fixed SQL: an absent filter is a null parameter that disables its
                    // predicate.
                    Ok(sqlx::query_as::<_, Execution>(
                        "select * from executions \
                         where organization_id = $1 \
                           and ($2 is null or status = $2) \
                           and ($3 is null or workflow_id = $3) \
                           and ($4 is null or created_at >= $4) \
                           and ($5 is null or created_at < $5) \
                           and ($6 is null or id < $6) \
                           and ($8 is null or dry_run = $8) \
                         order by id desc limit $7",
                    )
                    .bind(org)
                    .bind(filter.status.map(|s| s.as_str()))
                    .bind(filter.workflow_id)
                    .bind(filter.since)
                    .bind(filter.until)
                    .bind(filter.before)
                    .bind(i64::from(filter.limit))
                    .bind(filter.dry_run)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn list_steps(
                    &self,
                    org: Uuid,
                    execution_id: Uuid,
                ) -> StoreResult<Vec<Step>> {
                    Ok(sqlx::query_as::<_, Step>(
                        "select * from steps where organization_id = $1 and execution_id = $2 \
                         order by coalesce(started_at, created_at), created_at, node_id, attempt",
                    )
                    .bind(org)
                    .bind(execution_id)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn cancel_execution(
                    &self,
                    org: Uuid,
                    id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<CancelOutcome>> {
                    let mut tx = self.begin_write().await?;
                    let cancelled = sqlx::query_as::<_, Execution>(
                        "update executions set status = 'cancelled', completed_at = $3, \
                             updated_at = $3 \
                         where organization_id = $1 and id = $2 \
                           and status in ('pending', 'running', 'waiting') \
                         returning *",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let outcome = match cancelled {
                        Some(execution) => {
                            // A job under a live lease stays: its worker sees the status
                            // between steps and finishes; an unleased or abandoned job would
                            // only be claimed to be dropped.
                            sqlx::query(
                                "delete from jobs where execution_id = $1 \
                                   and (locked_until is null or locked_until < $2)",
                            )
                            .bind(id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            // A worker of another process running it stops at once.
                            $crate::__notify_execution_cancelled!($store, &mut *tx, id);
                            Some(CancelOutcome::Cancelled(execution))
                        }
                        None => select_execution(&mut tx, org, id)
                            .await?
                            .map(CancelOutcome::AlreadyFinished),
                    };
                    tx.commit().await?;
                    Ok(outcome)
                }

                async fn decide_waiting_step(
                    &self,
                    org: Uuid,
                    execution_id: Uuid,
                    node_id: &str,
                    decision: $crate::__private::serde_json::Value,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<DecideOutcome>> {
                    let mut tx = self.begin_write().await?;
                    let Some(execution) = select_execution(&mut tx, org, execution_id).await?
                    else {
                        return Ok(None);
                    };
                    let step = sqlx::query_as::<_, Step>(LATEST_WAITING_STEP.as_str())
                        .bind(org)
                        .bind(execution_id)
                        .bind(node_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let waiting = execution.status == $crate::__private::automatrix_core::ExecutionStatus::Waiting;
                    let output = step.as_ref().filter(|s| {
                        waiting
                            && s.status == $crate::__private::automatrix_core::StepStatus::Waiting
                    }).and_then(|s| s.output_data.as_ref()).and_then(|o| o.0.as_object())
                        .filter(|o| !o.contains_key("decision"))
                        .cloned();
                    let (Some(step), Some(mut output)) = (step, output) else {
                        return Ok(Some(DecideOutcome::NotWaiting(execution)));
                    };
                    output.insert("decision".to_owned(), decision);
                    sqlx::query(
                        "update steps set output_data = $4, updated_at = $5 \
                         where execution_id = $1 and node_id = $2 and attempt = $3",
                    )
                    .bind(execution_id)
                    .bind(node_id)
                    .bind(step.attempt)
                    .bind(Json(&output))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "update jobs set run_at = $2, updated_at = $2 \
                         where execution_id = $1 and locked_until is null",
                    )
                    .bind(execution_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    $crate::__notify_job_due!($store, &mut *tx);
                    tx.commit().await?;
                    Ok(Some(DecideOutcome::Decided(execution)))
                }

                async fn retry_execution(
                    &self,
                    org: Uuid,
                    id: Uuid,
                    now: DateTime<Utc>,
                    trace_context: Option<&str>,
                ) -> StoreResult<Option<RetryOutcome>> {
                    let mut tx = self.begin_write().await?;
                    let retried = sqlx::query_as::<_, Execution>(
                        "update executions set status = 'pending', output_data = null, \
                             error_message = null, completed_at = null, updated_at = $3 \
                         where organization_id = $1 and id = $2 and status = 'failed' \
                         returning *",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let outcome = match retried {
                        Some(execution) => {
                            $crate::__enqueue_job!(
                                $store,
                                &mut *tx,
                                execution.id,
                                execution.organization_id,
                                now,
                                trace_context
                            );
                            Some(RetryOutcome::Retried(execution))
                        }
                        None => select_execution(&mut tx, org, id)
                            .await?
                            .map(RetryOutcome::NotFailed),
                    };
                    tx.commit().await?;
                    Ok(outcome)
                }
            }

            async fn select_execution(
                conn: &mut Connection,
                org: Uuid,
                id: Uuid,
            ) -> StoreResult<Option<Execution>> {
                Ok(sqlx::query_as::<_, Execution>(
                    "select * from executions where organization_id = $1 and id = $2",
                )
                .bind(org)
                .bind(id)
                .fetch_optional(conn)
                .await?)
            }

        };
    };
}

/// Inserts an execution and its job on `$conn` (inside the caller's transaction) and tells
/// other processes the job is due, evaluating to the new [`Execution`](crate::Execution);
/// `NotFound` unless the pinned version exists in the execution's organization. Used by
/// `create_execution` and by `finish_execution` for a follow-up execution, so both queue work
/// the same way.
#[doc(hidden)]
#[macro_export]
macro_rules! __insert_execution {
    ($store:ty, $conn:expr, $new:expr) => {{
        let new: &$crate::NewExecution = $new;
        let execution = $crate::__private::sqlx::query_as::<_, $crate::Execution>(
            $crate::sql::INSERT_EXECUTION,
        )
        .bind(new.id)
        .bind(new.organization_id)
        .bind(new.workflow_id)
        .bind(new.workflow_version)
        .bind($crate::__private::sqlx::types::Json(&new.input))
        .bind(new.dry_run)
        .bind(new.now)
        .bind(new.lease.as_ref().map(|_| new.now))
        .bind(new.origin.request_id.as_deref())
        .fetch_optional(&mut *$conn)
        .await?
        .ok_or($crate::StoreError::NotFound)?;
        match &new.lease {
            // Its creator runs it: no other worker is to hear of it.
            Some(lease) => {
                $crate::__private::sqlx::query($crate::sql::INSERT_LEASED_JOB)
                    .bind(lease.job_id)
                    .bind(execution.id)
                    .bind(execution.organization_id)
                    .bind(new.now)
                    .bind(lease.worker.as_str())
                    .bind(lease.until)
                    .bind(lease.token)
                    .bind(new.origin.trace_context.as_deref())
                    .execute(&mut *$conn)
                    .await?;
            }
            None => $crate::__enqueue_job!(
                $store,
                $conn,
                execution.id,
                execution.organization_id,
                new.now,
                new.origin.trace_context.as_deref()
            ),
        }
        execution
    }};
}

/// Queues a job for an execution, due at `$at`, continuing the trace `$trace` (a `traceparent`
/// or `None`), on `$conn` (inside the caller's transaction), and tells other processes' workers
/// (PostgreSQL) at commit. Every path that makes an execution runnable from scratch goes
/// through here.
#[doc(hidden)]
#[macro_export]
macro_rules! __enqueue_job {
    ($store:ty, $conn:expr, $execution:expr, $org:expr, $at:expr, $trace:expr) => {{
        $crate::__private::sqlx::query($crate::sql::INSERT_JOB)
            .bind($crate::__private::uuid::Uuid::now_v7())
            .bind($execution)
            .bind($org)
            .bind($at)
            .bind($trace)
            .execute(&mut *$conn)
            .await?;
        $crate::__notify_job_due!($store, &mut *$conn);
    }};
}
