//! [`UserStore`](crate::UserStore): users, their organizations and refresh tokens.

use crate::StoreError;

/// The columns of [`User`](crate::User), named rather than `*` (a connection holding the schema
/// from before a migration added a column would prepare `*` with the old columns).
macro_rules! user_columns {
    () => {
        "id, organization_id, email, name, password_hash, mfa_enabled, created_at, updated_at"
    };
}

/// Inserts a user: `$1` id, `$2` organization, `$3` email, `$4` name, `$5` password hash,
/// `$6` now; returns the row. Shared by sign-up, invitations and single sign-on.
#[doc(hidden)]
pub const INSERT_USER: &str = concat!(
    "insert into users (id, organization_id, email, name, password_hash, created_at, \
         updated_at) values ($1, $2, $3, $4, $5, $6, $6) returning ",
    user_columns!()
);

#[doc(hidden)]
pub const USER_BY_EMAIL: &str = concat!(
    "select ",
    user_columns!(),
    " from users where lower(email) = lower($1)"
);

#[doc(hidden)]
pub const USER_BY_ID: &str = concat!("select ", user_columns!(), " from users where id = $1");

/// Implements [`UserStore`](crate::UserStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_user_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{
                NewRefreshToken, NewUser, RefreshSession, RefreshToken, StoreError, StoreResult,
                User, UserStore,
            };

            #[async_trait]
            impl UserStore for $store {
                // The `users` queries name their columns rather than `*`: `users` gained a
                // column in a migration (0011), and a SQLite connection that cached the
                // schema before it would prepare `*` as the old columns, then re-prepare at
                // the first step with one more, which sqlx's row decoding does not survive
                // (index out of bounds). A named column it lacks makes SQLite reload the
                // schema at prepare instead.
                async fn create_user_with_organization(&self, new: NewUser) -> StoreResult<User> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "insert into organizations (id, name, created_at, updated_at) \
                         values ($1, $2, $3, $3)",
                    )
                    .bind(new.organization_id)
                    .bind(&new.organization_name)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    let user = sqlx::query_as::<_, User>($crate::sql::INSERT_USER)
                        .bind(new.id)
                        .bind(new.organization_id)
                        .bind(&new.email)
                        .bind(&new.name)
                        .bind(&new.password_hash)
                        .bind(new.now)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err($crate::sql::email_taken)?;
                    sqlx::query(
                        "insert into memberships \
                             (organization_id, user_id, role, created_at, updated_at) \
                         values ($1, $2, 'owner', $3, $3)",
                    )
                    .bind(new.organization_id)
                    .bind(new.id)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(user)
                }

                async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
                    Ok(sqlx::query_as::<_, User>($crate::sql::USER_BY_EMAIL)
                        .bind(email)
                        .fetch_optional(self.pool())
                        .await?)
                }

                async fn get_user(&self, id: Uuid) -> StoreResult<Option<User>> {
                    Ok(sqlx::query_as::<_, User>($crate::sql::USER_BY_ID)
                        .bind(id)
                        .fetch_optional(self.pool())
                        .await?)
                }

                async fn update_user_password(
                    &self,
                    id: Uuid,
                    password_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let done = sqlx::query(
                        "update users set password_hash = $2, updated_at = $3 where id = $1",
                    )
                    .bind(id)
                    .bind(password_hash)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn insert_refresh_token(&self, new: NewRefreshToken) -> StoreResult<()> {
                    sqlx::query(
                        "insert into refresh_tokens \
                             (id, user_id, family_id, token_hash, expires_at, created_at, \
                              updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $6)",
                    )
                    .bind(new.id)
                    .bind(new.user_id)
                    .bind(new.family_id)
                    .bind(&new.token_hash)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(())
                }

                async fn find_refresh_token(
                    &self,
                    token_hash: &str,
                ) -> StoreResult<Option<RefreshToken>> {
                    Ok(sqlx::query_as::<_, RefreshToken>(
                        "select * from refresh_tokens where token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn spend_refresh_token(
                    &self,
                    id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    // One conditional statement: of two concurrent refreshes, exactly one
                    // changes the row.
                    let done = sqlx::query(
                        "update refresh_tokens set used_at = $2, updated_at = $2 \
                         where id = $1 and used_at is null and revoked_at is null",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn revoke_refresh_family(
                    &self,
                    family_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    revoke_tokens(
                        self,
                        "update refresh_tokens set revoked_at = $2, updated_at = $2 \
                         where family_id = $1 and revoked_at is null",
                        family_id,
                        now,
                    )
                    .await
                }

                async fn revoke_user_refresh_tokens(
                    &self,
                    user_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    revoke_tokens(
                        self,
                        "update refresh_tokens set revoked_at = $2, updated_at = $2 \
                         where user_id = $1 and revoked_at is null",
                        user_id,
                        now,
                    )
                    .await
                }

                async fn revoke_other_refresh_families(
                    &self,
                    user_id: Uuid,
                    keep: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "update refresh_tokens set revoked_at = $2, updated_at = $2 \
                         where user_id = $1 and family_id <> $3 and revoked_at is null",
                    )
                    .bind(user_id)
                    .bind(now)
                    .bind(keep)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(())
                }

                async fn list_refresh_sessions(
                    &self,
                    user_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<RefreshSession>> {
                    // Every token of the families that have a live one; grouped here, where
                    // timestamps compare as timestamps on both backends.
                    let tokens = sqlx::query_as::<_, RefreshToken>(
                        "select * from refresh_tokens where user_id = $1 and family_id in (\
                             select family_id from refresh_tokens \
                             where user_id = $1 and used_at is null and revoked_at is null \
                               and expires_at > $2)",
                    )
                    .bind(user_id)
                    .bind(now)
                    .fetch_all(self.pool())
                    .await?;
                    let mut sessions: Vec<RefreshSession> = Vec::new();
                    for t in &tokens {
                        let i = match sessions.iter().position(|s| s.id == t.family_id) {
                            Some(i) => i,
                            None => {
                                sessions.push(RefreshSession {
                                    id: t.family_id,
                                    user_id: t.user_id,
                                    created_at: t.created_at,
                                    refreshed_at: t.created_at,
                                    expires_at: t.expires_at,
                                });
                                sessions.len() - 1
                            }
                        };
                        let s = &mut sessions[i];
                        s.created_at = s.created_at.min(t.created_at);
                        if t.used_at.is_none() && t.revoked_at.is_none() && t.expires_at > now {
                            s.refreshed_at = t.created_at;
                            s.expires_at = t.expires_at;
                        }
                    }
                    sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                    Ok(sessions)
                }

                async fn revoke_user_refresh_session(
                    &self,
                    user_id: Uuid,
                    family_id: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "update refresh_tokens set revoked_at = $3, updated_at = $3 \
                         where user_id = $1 and family_id = $2 and revoked_at is null \
                           and used_at is null and expires_at > $3",
                    )
                    .bind(user_id)
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Ok(false);
                    }
                    // The family's spent tokens too, so a replay of one finds it revoked.
                    sqlx::query(
                        "update refresh_tokens set revoked_at = $3, updated_at = $3 \
                         where user_id = $1 and family_id = $2 and revoked_at is null",
                    )
                    .bind(user_id)
                    .bind(family_id)
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(true)
                }
            }

            /// Runs `revoke`, an update that revokes the tokens matching `$1` as of `$2`.
            async fn revoke_tokens(
                store: &$store,
                revoke: &'static str,
                id: Uuid,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(revoke)
                    .bind(id)
                    .bind(now)
                    .execute(store.pool())
                    .await?;
                Ok(())
            }
        };
    };
}

/// A unique violation on `users` can only be the email (the id is a fresh UUIDv7).
pub fn email_taken(e: sqlx::Error) -> StoreError {
    super::conflict_means(e, "email already registered")
}
