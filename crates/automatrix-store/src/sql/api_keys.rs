//! [`ApiKeyStore`](crate::ApiKeyStore): API keys, kept as hashes.

use crate::StoreError;

/// A unique violation on `api_keys` is the name within the organization: the other unique
/// column, the hash of 256 random bits, does not repeat.
pub fn api_key_name_taken(e: sqlx::Error) -> StoreError {
    super::conflict_means(e, "an API key with this name already exists")
}

/// Implements [`ApiKeyStore`](crate::ApiKeyStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_api_key_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::{ApiKey, ApiKeyStore, NewApiKey, StoreResult};

            #[async_trait]
            impl ApiKeyStore for $store {
                async fn create_api_key(&self, new: NewApiKey) -> StoreResult<ApiKey> {
                    sqlx::query_as::<_, ApiKey>(
                        "insert into api_keys (id, organization_id, user_id, name, role, \
                             prefix, key_hash, expires_at, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                         returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(new.user_id)
                    .bind(&new.name)
                    .bind(new.role.as_str())
                    .bind(&new.prefix)
                    .bind(&new.key_hash)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .fetch_one(&mut *self.writer().await?)
                    .await
                    .map_err($crate::sql::api_key_name_taken)
                }

                async fn list_api_keys(&self, org: Uuid) -> StoreResult<Vec<ApiKey>> {
                    Ok(sqlx::query_as::<_, ApiKey>(
                        "select * from api_keys where organization_id = $1 order by name, id",
                    )
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn delete_api_key(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
                    let done =
                        sqlx::query("delete from api_keys where organization_id = $1 and id = $2")
                            .bind(org)
                            .bind(id)
                            .execute(&mut *self.writer().await?)
                            .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn find_api_key(&self, key_hash: &str) -> StoreResult<Option<ApiKey>> {
                    sqlx::query_as::<_, ApiKey>("select * from api_keys where key_hash = $1")
                        .bind(key_hash)
                        .fetch_optional(self.pool())
                        .await
                        .map_err(Into::into)
                }

                async fn record_api_key_use(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                    since: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "update api_keys set last_used_at = $2 \
                         where id = $1 and (last_used_at is null or last_used_at < $3)",
                    )
                    .bind(id)
                    .bind(now)
                    .bind(since)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}
