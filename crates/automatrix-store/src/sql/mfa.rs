//! [`MfaStore`](crate::MfaStore): users' TOTP secrets, recovery codes and login challenges.

/// Implements [`MfaStore`](crate::MfaStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_mfa_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{MfaChallenge, MfaStore, NewMfaChallenge, StoreResult, UserMfa};

            #[async_trait]
            impl MfaStore for $store {
                async fn put_pending_mfa_secret(
                    &self,
                    user_id: Uuid,
                    secret_sealed: &[u8],
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    // One statement: the `where` of the upsert leaves an enabled secret alone.
                    let done = sqlx::query(
                        "insert into user_mfa (user_id, secret_sealed, created_at, updated_at) \
                         values ($1, $2, $3, $3) \
                         on conflict (user_id) do update \
                             set secret_sealed = excluded.secret_sealed, last_step = null, \
                                 created_at = excluded.created_at, updated_at = excluded.updated_at \
                             where user_mfa.enabled_at is null",
                    )
                    .bind(user_id)
                    .bind(secret_sealed)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn list_all_mfa_secrets(&self) -> StoreResult<Vec<UserMfa>> {
                    Ok(
                        sqlx::query_as::<_, UserMfa>("select * from user_mfa order by user_id")
                            .fetch_all(self.pool())
                            .await?,
                    )
                }

                async fn get_user_mfa(&self, user_id: Uuid) -> StoreResult<Option<UserMfa>> {
                    Ok(
                        sqlx::query_as::<_, UserMfa>("select * from user_mfa where user_id = $1")
                            .bind(user_id)
                            .fetch_optional(self.pool())
                            .await?,
                    )
                }

                async fn enable_mfa(
                    &self,
                    user_id: Uuid,
                    secret_sealed: &[u8],
                    step: i64,
                    recovery_code_hashes: &[String],
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let done = sqlx::query(
                        "update user_mfa set enabled_at = $3, last_step = $4, updated_at = $3 \
                         where user_id = $1 and secret_sealed = $2 and enabled_at is null",
                    )
                    .bind(user_id)
                    .bind(secret_sealed)
                    .bind(now)
                    .bind(step)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Ok(false);
                    }
                    sqlx::query("update users set mfa_enabled = $2, updated_at = $3 where id = $1")
                        .bind(user_id)
                        .bind(true)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("delete from mfa_recovery_codes where user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    for hash in recovery_code_hashes {
                        sqlx::query(
                            "insert into mfa_recovery_codes (id, user_id, code_hash, created_at) \
                             values ($1, $2, $3, $4)",
                        )
                        .bind(Uuid::now_v7())
                        .bind(user_id)
                        .bind(hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                async fn accept_totp_step(
                    &self,
                    user_id: Uuid,
                    step: i64,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    // Conditional on the last step: of two requests with the same code, one
                    // changes the row.
                    let done = sqlx::query(
                        "update user_mfa set last_step = $2, updated_at = $3 \
                         where user_id = $1 and enabled_at is not null \
                           and (last_step is null or last_step < $2)",
                    )
                    .bind(user_id)
                    .bind(step)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn spend_recovery_code(
                    &self,
                    user_id: Uuid,
                    code_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "update mfa_recovery_codes set used_at = $3 \
                         where user_id = $1 and code_hash = $2 and used_at is null",
                    )
                    .bind(user_id)
                    .bind(code_hash)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn count_recovery_codes(&self, user_id: Uuid) -> StoreResult<u32> {
                    let n: i64 = sqlx::query_scalar(
                        "select count(*) from mfa_recovery_codes \
                         where user_id = $1 and used_at is null",
                    )
                    .bind(user_id)
                    .fetch_one(self.pool())
                    .await?;
                    Ok(u32::try_from(n).unwrap_or(u32::MAX))
                }

                async fn disable_mfa(&self, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    for sql in [
                        "delete from user_mfa where user_id = $1",
                        "delete from mfa_recovery_codes where user_id = $1",
                        "delete from mfa_challenges where user_id = $1",
                    ] {
                        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                    }
                    sqlx::query("update users set mfa_enabled = $2, updated_at = $3 where id = $1")
                        .bind(user_id)
                        .bind(false)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn create_mfa_challenge(&self, new: NewMfaChallenge) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("delete from mfa_challenges where expires_at < $1")
                        .bind(new.now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "insert into mfa_challenges \
                             (id, user_id, token_hash, expires_at, attempts, created_at, updated_at) \
                         values ($1, $2, $3, $4, 0, $5, $5)",
                    )
                    .bind(new.id)
                    .bind(new.user_id)
                    .bind(&new.token_hash)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn attempt_mfa_challenge(
                    &self,
                    token_hash: &str,
                    max_attempts: i32,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<MfaChallenge>> {
                    // The attempt is counted before the code is checked, in one conditional
                    // statement: concurrent guesses, from any process, get `max_attempts` in all.
                    Ok(sqlx::query_as::<_, MfaChallenge>(
                        "update mfa_challenges set attempts = attempts + 1, updated_at = $3 \
                         where token_hash = $1 and used_at is null and expires_at > $3 \
                           and attempts < $2 \
                         returning *",
                    )
                    .bind(token_hash)
                    .bind(max_attempts)
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?)
                }

                async fn spend_mfa_challenge(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "update mfa_challenges set used_at = $2, updated_at = $2 \
                         where id = $1 and used_at is null",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}
