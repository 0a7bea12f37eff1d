//! [`CredentialStore`](crate::CredentialStore): the organization's sealed credentials, and the
//! statements of every [`SealedColumn`] for the master-key rotation.

use crate::{SealedColumn, StoreError};

/// Implements [`CredentialStore`](crate::CredentialStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_credential_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{
                Credential, CredentialStore, CredentialUpdate, NewCredential, SealedColumn,
                SealedRewrite, StoreError, StoreResult,
            };

            #[async_trait]
            impl CredentialStore for $store {
                async fn create_credential(&self, new: NewCredential) -> StoreResult<Credential> {
                    sqlx::query_as::<_, Credential>(
                        "insert into credentials \
                             (id, organization_id, name, kind, sealed, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $6) \
                         returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(&new.name)
                    .bind(&new.kind)
                    .bind(&new.sealed)
                    .bind(new.now)
                    .fetch_one(&mut *self.writer().await?)
                    .await
                    .map_err($crate::sql::credential_name_taken)
                }

                async fn get_credential(
                    &self,
                    org: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<Credential>> {
                    Ok(sqlx::query_as::<_, Credential>(
                        "select * from credentials where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn list_credentials(&self, org: Uuid) -> StoreResult<Vec<Credential>> {
                    Ok(sqlx::query_as::<_, Credential>(
                        "select * from credentials where organization_id = $1 \
                         order by name, id",
                    )
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn update_credential(
                    &self,
                    org: Uuid,
                    id: Uuid,
                    update: CredentialUpdate,
                    now: DateTime<Utc>,
                ) -> StoreResult<Credential> {
                    sqlx::query_as::<_, Credential>(
                        "update credentials set name = coalesce($3, name), \
                             sealed = coalesce($4, sealed), updated_at = $5 \
                         where organization_id = $1 and id = $2 \
                         returning *",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(update.name)
                    .bind(update.sealed)
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await
                    .map_err($crate::sql::credential_name_taken)?
                    .ok_or(StoreError::NotFound)
                }

                async fn delete_credential(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "delete from credentials where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_all_credentials(&self) -> StoreResult<Vec<Credential>> {
                    Ok(sqlx::query_as::<_, Credential>(
                        "select * from credentials order by organization_id, id",
                    )
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn replace_sealed(&self, rewrites: &[SealedRewrite]) -> StoreResult<()> {
                    // Dropped uncommitted on any early return: rolled back, nothing written.
                    let mut tx = self.begin_write().await?;
                    let mut covered = std::collections::BTreeMap::<SealedColumn, i64>::new();
                    for r in rewrites {
                        let done = sqlx::query($crate::sql::sealed_column_sql(r.column).replace)
                            .bind(r.id)
                            .bind(&r.old)
                            .bind(&r.new)
                            .execute(&mut *tx)
                            .await?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::Stale(format!(
                                "{:?} of {} changed or went since it was read",
                                r.column, r.id
                            )));
                        }
                        *covered.entry(r.column).or_default() += 1;
                    }
                    for (column, rewritten) in covered {
                        let sql = $crate::sql::sealed_column_sql(column).count;
                        let held: i64 = sqlx::query_scalar(sql).fetch_one(&mut *tx).await?;
                        if held != rewritten {
                            return Err(StoreError::Stale(format!(
                                "{column:?}: {held} sealed values, {rewritten} rewritten \
                                 (some were added since they were read)"
                            )));
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        };
    };
}

/// A unique violation on `credentials` can only be the name within the organization.
pub fn credential_name_taken(e: sqlx::Error) -> StoreError {
    super::conflict_means(e, "a credential with this name already exists")
}

/// The fixed statements of a [`SealedColumn`].
#[doc(hidden)]
pub struct SealedColumnSql {
    /// Replaces the value of row `$1` by `$3` if it still is `$2`.
    pub replace: &'static str,
    /// Counts the column's sealed values.
    pub count: &'static str,
}

#[doc(hidden)]
pub fn sealed_column_sql(column: SealedColumn) -> SealedColumnSql {
    match column {
        // `updated_at` stays: the credential's data did not change, only its wrapping.
        SealedColumn::CredentialData => SealedColumnSql {
            replace: "update credentials set sealed = $3 where id = $1 and sealed = $2",
            count: "select count(*) from credentials",
        },
        SealedColumn::MfaSecret => SealedColumnSql {
            replace: "update user_mfa set secret_sealed = $3 \
                      where user_id = $1 and secret_sealed = $2",
            count: "select count(*) from user_mfa",
        },
    }
}
