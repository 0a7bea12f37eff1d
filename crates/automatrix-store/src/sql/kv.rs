//! [`KvStore`](crate::KvStore): each workflow's persistent key-value entries.

use serde_json::Value;

use crate::StoreError;

/// Implements [`KvStore`](crate::KvStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_kv_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::automatrix_core::{KvAnswer, KvOp};
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::serde_json::Value;
            use $crate::__private::sqlx::{self, types::Json};
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{KvStore, StoreResult};

            /// The live value of `$3` in workflow `$2` of organization `$1` as of `$4`.
            const GET: &str = "select value from kv_entries \
                 where organization_id = $1 and workflow_id = $2 and key = $3 \
                   and (expires_at is null or expires_at > $4)";

            /// Stores `$4` (expiring at `$5`) as of `$6`; with `$7` true, only over an
            /// absent or expired entry. Returns the row when it stored.
            const SET: &str = "insert into kv_entries (organization_id, workflow_id, key, \
                     value, expires_at, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $6, $6) \
                 on conflict (workflow_id, key) do update \
                     set value = excluded.value, expires_at = excluded.expires_at, \
                         updated_at = excluded.updated_at \
                     where $7 = false \
                        or (kv_entries.expires_at is not null and kv_entries.expires_at <= $6) \
                 returning value";

            /// The entry an increment starts from, locked until the increment commits.
            static SELECT_FOR_UPDATE: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "select value, expires_at from kv_entries \
                     where organization_id = $1 and workflow_id = $2 and key = $3{}",
                    <$store as Dialect>::LOCK_FOR_UPDATE,
                )
            });

            /// The live value of `key`, if any.
            async fn live(
                store: &$store,
                org: Uuid,
                workflow: Uuid,
                key: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<Value>> {
                let found: Option<(Json<Value>,)> = sqlx::query_as(GET)
                    .bind(org)
                    .bind(workflow)
                    .bind(key)
                    .bind(now)
                    .fetch_optional(store.pool())
                    .await?;
                Ok(found.map(|(Json(value),)| value))
            }

            #[async_trait]
            impl KvStore for $store {
                async fn kv(
                    &self,
                    org: Uuid,
                    workflow: Uuid,
                    op: KvOp,
                    now: DateTime<Utc>,
                ) -> StoreResult<KvAnswer> {
                    match op {
                        KvOp::Get { key } => Ok(match live(self, org, workflow, &key, now).await? {
                            Some(value) => KvAnswer { value, hit: true },
                            None => KvAnswer {
                                value: Value::Null,
                                hit: false,
                            },
                        }),
                        KvOp::Set {
                            key,
                            value,
                            expires_at,
                            only_if_absent,
                        } => {
                            let stored: Option<(Json<Value>,)> = sqlx::query_as(SET)
                                .bind(org)
                                .bind(workflow)
                                .bind(&key)
                                .bind(Json(&value))
                                .bind(expires_at)
                                .bind(now)
                                .bind(only_if_absent)
                                .fetch_optional(&mut *self.writer().await?)
                                .await?;
                            if stored.is_some() {
                                return Ok(KvAnswer { value, hit: true });
                            }
                            let present = live(self, org, workflow, &key, now).await?;
                            Ok(KvAnswer {
                                value: present.unwrap_or(Value::Null),
                                hit: false,
                            })
                        }
                        KvOp::Increment {
                            key,
                            by,
                            expires_at,
                        } => {
                            let mut tx = self.begin_write().await?;
                            // Makes sure the row exists, so the locking select below finds
                            // it even when concurrent increments create it.
                            sqlx::query(
                                "insert into kv_entries (organization_id, workflow_id, key, \
                                     value, expires_at, created_at, updated_at) \
                                 values ($1, $2, $3, $4, $5, $6, $6) \
                                 on conflict (workflow_id, key) do nothing",
                            )
                            .bind(org)
                            .bind(workflow)
                            .bind(&key)
                            .bind(Json(Value::from(0)))
                            .bind(expires_at)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            let (Json(current), current_expiry): (
                                Json<Value>,
                                Option<DateTime<Utc>>,
                            ) = sqlx::query_as(SELECT_FOR_UPDATE.as_str())
                                .bind(org)
                                .bind(workflow)
                                .bind(&key)
                                .fetch_one(&mut *tx)
                                .await?;
                            let expired = current_expiry.is_some_and(|at| at <= now);
                            let (base, expiry) = if expired {
                                (Value::from(0), expires_at)
                            } else {
                                (current, current_expiry)
                            };
                            let value = $crate::sql::kv::add(&key, &base, by)?;
                            sqlx::query(
                                "update kv_entries set value = $4, expires_at = $5, \
                                     updated_at = $6 \
                                 where organization_id = $1 and workflow_id = $2 and key = $3",
                            )
                            .bind(org)
                            .bind(workflow)
                            .bind(&key)
                            .bind(Json(&value))
                            .bind(expiry)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            tx.commit().await?;
                            Ok(KvAnswer { value, hit: true })
                        }
                        KvOp::Delete { key } => {
                            let gone: Option<(Option<DateTime<Utc>>,)> = sqlx::query_as(
                                "delete from kv_entries \
                                 where organization_id = $1 and workflow_id = $2 and key = $3 \
                                 returning expires_at",
                            )
                            .bind(org)
                            .bind(workflow)
                            .bind(&key)
                            .fetch_optional(&mut *self.writer().await?)
                            .await?;
                            let hit = gone.is_some_and(|(at,)| at.is_none_or(|at| at > now));
                            Ok(KvAnswer {
                                value: Value::Null,
                                hit,
                            })
                        }
                    }
                }
            }
        };
    };
}

/// `base + by`, as an integer when both are whole numbers; `Conflict` when `base` is not a
/// number.
#[doc(hidden)]
pub fn add(key: &str, base: &Value, by: f64) -> Result<Value, StoreError> {
    let Some(current) = base.as_f64() else {
        return Err(StoreError::Conflict(format!(
            "the value of `{key}` is not a number"
        )));
    };
    let sum = current + by;
    // Whole numbers stay integers (2^53 is where f64 stops counting exactly).
    if base.is_i64() && by.fract() == 0.0 && sum.abs() < 9_007_199_254_740_992.0 {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(Value::from(sum as i64));
    }
    Ok(Value::from(sum))
}
