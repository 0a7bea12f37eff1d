//! [`WorkflowStore`](crate::WorkflowStore): workflows and their immutable versions.

/// Implements [`WorkflowStore`](crate::WorkflowStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_workflow_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::serde_json::Value;
            use $crate::__private::sqlx::{self, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{
                NewExecution, NewWorkflow, ScheduledTick, StoreError, StoreResult, Workflow,
                WorkflowStore, WorkflowUpdate, WorkflowVersion,
            };

            type Connection = <<$store as Dialect>::Database as sqlx::Database>::Connection;

            /// The workflow an update starts from. The row lock (or SQLite's write lock)
            /// serializes concurrent updates, so two cannot both make version n + 1.
            static SELECT_FOR_UPDATE: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "select * from workflows where organization_id = $1 and id = $2{}",
                    <$store as Dialect>::LOCK_FOR_UPDATE,
                )
            });

            #[async_trait]
            impl WorkflowStore for $store {
                async fn create_workflow(&self, new: NewWorkflow) -> StoreResult<Workflow> {
                    let mut tx = self.begin_write().await?;
                    let workflow = sqlx::query_as::<_, Workflow>(
                        "insert into workflows (id, organization_id, name, description, \
                             definition, version, is_active, webhook_token, created_by, \
                             created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $9) \
                         returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(&new.name)
                    .bind(&new.description)
                    .bind(Json(&new.definition))
                    .bind(new.is_active)
                    .bind(&new.webhook_token)
                    .bind(new.created_by)
                    .bind(new.now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let author = Author {
                        created_by: new.created_by,
                        restored_from: None,
                    };
                    insert_version(&mut tx, &workflow, &new.definition, author, new.now).await?;
                    if new.next_tick.is_some() {
                        plan_schedule(&mut tx, &workflow, new.next_tick, new.now).await?;
                    }
                    tx.commit().await?;
                    Ok(workflow)
                }

                async fn get_workflow(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Workflow>> {
                    Ok(sqlx::query_as::<_, Workflow>(
                        "select * from workflows where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn due_ticks(
                    &self,
                    now: DateTime<Utc>,
                    limit: u32,
                ) -> StoreResult<Vec<ScheduledTick>> {
                    Ok(sqlx::query_as::<_, ScheduledTick>(
                        "select workflow_id, organization_id, next_run_at from schedules \
                         where next_run_at <= $1 order by next_run_at limit $2",
                    )
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn take_tick(
                    &self,
                    tick: &ScheduledTick,
                    next: Option<DateTime<Utc>>,
                    fire: Option<NewExecution>,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    // The compare-and-set on the planned time is the claim of the tick.
                    let taken = match next {
                        Some(next) => sqlx::query(
                            "update schedules set next_run_at = $3, updated_at = $4 \
                             where workflow_id = $1 and next_run_at = $2",
                        )
                        .bind(tick.workflow_id)
                        .bind(tick.next_run_at)
                        .bind(next)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?,
                        None => sqlx::query(
                            "delete from schedules where workflow_id = $1 and next_run_at = $2",
                        )
                        .bind(tick.workflow_id)
                        .bind(tick.next_run_at)
                        .execute(&mut *tx)
                        .await?,
                    };
                    if taken.rows_affected() == 0 {
                        return Ok(false);
                    }
                    if let Some(new) = &fire {
                        $crate::__insert_execution!($store, &mut *tx, new);
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn find_webhook(&self, token: &str) -> StoreResult<Option<Workflow>> {
                    Ok(sqlx::query_as::<_, Workflow>(
                        "select * from workflows where webhook_token = $1",
                    )
                    .bind(token)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn list_workflows(
                    &self,
                    org: Uuid,
                    before: Option<Uuid>,
                    limit: u32,
                ) -> StoreResult<Vec<Workflow>> {
                    Ok(sqlx::query_as::<_, Workflow>(
                        "select * from workflows \
                         where organization_id = $1 and ($2 is null or id < $2) \
                         order by id desc limit $3",
                    )
                    .bind(org)
                    .bind(before)
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn update_workflow(
                    &self,
                    org: Uuid,
                    id: Uuid,
                    update: WorkflowUpdate,
                    now: DateTime<Utc>,
                ) -> StoreResult<Workflow> {
                    let mut tx = self.begin_write().await?;
                    let current = sqlx::query_as::<_, Workflow>(SELECT_FOR_UPDATE.as_str())
                        .bind(org)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or(StoreError::NotFound)?;
                    // Only a definition that differs from the current one makes a new version.
                    let new_definition = update.definition.filter(|d| *d != current.definition.0);
                    let version = current.version + i64::from(new_definition.is_some());
                    let workflow = sqlx::query_as::<_, Workflow>(
                        "update workflows set name = $3, description = $4, definition = $5, \
                             version = $6, is_active = $7, webhook_token = $8, updated_at = $9 \
                         where organization_id = $1 and id = $2 \
                         returning *",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(update.name.as_ref().unwrap_or(&current.name))
                    .bind(update.description.as_ref().unwrap_or(&current.description))
                    .bind(Json(
                        new_definition.as_ref().unwrap_or(&current.definition.0),
                    ))
                    .bind(version)
                    .bind(update.is_active.unwrap_or(current.is_active))
                    .bind(update.webhook_token.unwrap_or(current.webhook_token))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    if let Some(definition) = &new_definition {
                        let author = Author {
                            created_by: update.updated_by,
                            restored_from: update.restored_from,
                        };
                        insert_version(&mut tx, &workflow, definition, author, now).await?;
                    }
                    if let Some(tick) = update.next_tick {
                        plan_schedule(&mut tx, &workflow, tick, now).await?;
                    }
                    tx.commit().await?;
                    Ok(workflow)
                }

                async fn delete_workflow(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
                    // Versions, executions, steps and jobs go with it (`on delete cascade`).
                    let done =
                        sqlx::query("delete from workflows where organization_id = $1 and id = $2")
                            .bind(org)
                            .bind(id)
                            .execute(&mut *self.writer().await?)
                            .await?;
                    Ok(done.rows_affected() > 0)
                }

                async fn get_workflow_version(
                    &self,
                    org: Uuid,
                    workflow_id: Uuid,
                    version: i64,
                ) -> StoreResult<Option<WorkflowVersion>> {
                    Ok(sqlx::query_as::<_, WorkflowVersion>(
                        "select * from workflow_versions \
                         where organization_id = $1 and workflow_id = $2 and version = $3",
                    )
                    .bind(org)
                    .bind(workflow_id)
                    .bind(version)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn list_workflow_versions(
                    &self,
                    org: Uuid,
                    workflow_id: Uuid,
                ) -> StoreResult<Vec<WorkflowVersion>> {
                    Ok(sqlx::query_as::<_, WorkflowVersion>(
                        "select * from workflow_versions \
                         where organization_id = $1 and workflow_id = $2 \
                         order by version desc",
                    )
                    .bind(org)
                    .bind(workflow_id)
                    .fetch_all(self.pool())
                    .await?)
                }
            }

            /// Plans `workflow`'s schedule at `tick` while it is active; removes it otherwise.
            async fn plan_schedule(
                conn: &mut Connection,
                workflow: &Workflow,
                tick: Option<DateTime<Utc>>,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let Some(tick) = tick.filter(|_| workflow.is_active) else {
                    sqlx::query("delete from schedules where workflow_id = $1")
                        .bind(workflow.id)
                        .execute(conn)
                        .await?;
                    return Ok(());
                };
                sqlx::query(
                    "insert into schedules (workflow_id, organization_id, next_run_at, \
                         created_at, updated_at) \
                     values ($1, $2, $3, $4, $4) \
                     on conflict (workflow_id) do update set \
                         next_run_at = excluded.next_run_at, updated_at = excluded.updated_at",
                )
                .bind(workflow.id)
                .bind(workflow.organization_id)
                .bind(tick)
                .bind(now)
                .execute(conn)
                .await?;
                Ok(())
            }

            /// Who made a version, and how.
            struct Author {
                created_by: Option<Uuid>,
                restored_from: Option<i64>,
            }

            /// Stores `definition` as version `workflow.version` of `workflow`.
            async fn insert_version(
                conn: &mut Connection,
                workflow: &Workflow,
                definition: &Value,
                author: Author,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "insert into workflow_versions (workflow_id, organization_id, version, \
                         definition, created_by, restored_from, created_at, updated_at) \
                     values ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(workflow.id)
                .bind(workflow.organization_id)
                .bind(workflow.version)
                .bind(Json(definition))
                .bind(author.created_by)
                .bind(author.restored_from)
                .bind(now)
                .execute(conn)
                .await?;
                Ok(())
            }
        };
    };
}
