//! [`ThrottleStore`](crate::ThrottleStore): failure counters shared by every process.

/// Implements [`ThrottleStore`](crate::ThrottleStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_throttle_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{Backoff, StoreResult, ThrottleStore};

            /// The key's counts, locked until the attempt commits.
            static SELECT_FOR_UPDATE: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "select failures, last_failure_at, locked_until from auth_throttle \
                     where key_hash = $1{}",
                    <$store as Dialect>::LOCK_FOR_UPDATE,
                )
            });

            fn span(d: std::time::Duration) -> $crate::__private::chrono::TimeDelta {
                $crate::__private::chrono::TimeDelta::from_std(d)
                    .unwrap_or($crate::__private::chrono::TimeDelta::MAX)
            }

            #[async_trait]
            impl ThrottleStore for $store {
                async fn attempt_throttled(
                    &self,
                    key: &str,
                    policy: Backoff,
                    now: DateTime<Utc>,
                ) -> StoreResult<Result<(), DateTime<Utc>>> {
                    let mut tx = self.begin_write().await?;
                    // Idle keys go (the index on `last_failure_at` keeps this cheap).
                    sqlx::query(
                        "delete from auth_throttle \
                         where last_failure_at < $1 and locked_until < $2",
                    )
                    .bind(now - span(policy.forget_after))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    // The row exists before it is locked, so two first attempts take turns.
                    sqlx::query(
                        "insert into auth_throttle \
                             (key_hash, failures, last_failure_at, locked_until, updated_at) \
                         values ($1, 0, $2, $2, $2) on conflict (key_hash) do nothing",
                    )
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let (failures, last, locked_until): (i32, DateTime<Utc>, DateTime<Utc>) =
                        sqlx::query_as(SELECT_FOR_UPDATE.as_str())
                            .bind(key)
                            .fetch_one(&mut *tx)
                            .await?;
                    if locked_until > now {
                        return Ok(Err(locked_until));
                    }
                    let failures = if now - last >= span(policy.forget_after) {
                        1
                    } else {
                        u32::try_from(failures).unwrap_or(0).saturating_add(1)
                    };
                    sqlx::query(
                        "update auth_throttle \
                         set failures = $2, last_failure_at = $3, locked_until = $4, \
                             updated_at = $3 \
                         where key_hash = $1",
                    )
                    .bind(key)
                    .bind(i32::try_from(failures).unwrap_or(i32::MAX))
                    .bind(now)
                    .bind(now + span(policy.lockout(failures)))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(Ok(()))
                }

                async fn forgive_throttled(&self, key: &str, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query(
                        "update auth_throttle \
                         set failures = case when failures > 0 then failures - 1 else 0 end, \
                             locked_until = case when locked_until > $2 then $2 \
                                                 else locked_until end, \
                             updated_at = $2 \
                         where key_hash = $1",
                    )
                    .bind(key)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(())
                }

                async fn reset_throttled(&self, key: &str) -> StoreResult<()> {
                    sqlx::query("delete from auth_throttle where key_hash = $1")
                        .bind(key)
                        .execute(&mut *self.writer().await?)
                        .await?;
                    Ok(())
                }
            }
        };
    };
}
