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
            use $crate::__private::sqlx::{self, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::{
                CancelOutcome, Execution, ExecutionFilter, ExecutionStore, NewExecution, Step,
                StoreError, StoreResult,
            };

            #[async_trait]
            impl ExecutionStore for $store {
                async fn create_execution(&self, new: NewExecution) -> StoreResult<Execution> {
                    let mut tx = self.begin_write().await?;
                    // Inserts nothing unless the pinned version exists in the caller's
                    // organization.
                    let execution = sqlx::query_as::<_, Execution>(
                        "insert into executions (id, organization_id, workflow_id, \
                             workflow_version, status, input_data, dry_run, created_at, \
                             updated_at) \
                         select $1, $2, $3, $4, 'pending', $5, $6, $7, $7 \
                         where exists (select 1 from workflow_versions \
                                       where organization_id = $2 and workflow_id = $3 \
                                         and version = $4) \
                         returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(new.workflow_id)
                    .bind(new.workflow_version)
                    .bind(Json(&new.input))
                    .bind(new.dry_run)
                    .bind(new.now)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                    sqlx::query(
                        "insert into jobs (id, execution_id, organization_id, run_at, \
                             created_at, updated_at) \
                         values ($1, $2, $3, $4, $4, $4)",
                    )
                    .bind(Uuid::now_v7())
                    .bind(execution.id)
                    .bind(execution.organization_id)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(execution)
                }

                async fn get_execution(
                    &self,
                    org: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<Execution>> {
                    Ok(sqlx::query_as::<_, Execution>(
                        "select * from executions where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
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
                         order by id desc limit $7",
                    )
                    .bind(org)
                    .bind(filter.status.map(|s| s.as_str()))
                    .bind(filter.workflow_id)
                    .bind(filter.since)
                    .bind(filter.until)
                    .bind(filter.before)
                    .bind(i64::from(filter.limit))
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
                         order by coalesce(started_at, created_at), created_at, node_id",
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
                            Some(CancelOutcome::Cancelled(execution))
                        }
                        None => sqlx::query_as::<_, Execution>(
                            "select * from executions where organization_id = $1 and id = $2",
                        )
                        .bind(org)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .map(CancelOutcome::AlreadyFinished),
                    };
                    tx.commit().await?;
                    Ok(outcome)
                }
            }
        };
    };
}
