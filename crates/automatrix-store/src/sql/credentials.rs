//! [`CredentialStore`](crate::CredentialStore): the organization's sealed credentials.

use crate::StoreError;

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
            use $crate::sql::Dialect;
            use $crate::{
                Credential, CredentialStore, CredentialUpdate, NewCredential, StoreError,
                StoreResult,
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
            }
        };
    };
}

/// A unique violation on `credentials` can only be the name within the organization.
pub fn credential_name_taken(e: sqlx::Error) -> StoreError {
    super::conflict_means(e, "a credential with this name already exists")
}
