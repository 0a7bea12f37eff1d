//! [`SsoStore`](crate::SsoStore): single sign-ins in flight and organizations' SSO domains.

use crate::StoreError;

/// A unique violation on `organization_sso_domains` is its domain.
pub fn sso_domain_taken(e: sqlx::Error, domain: &str) -> StoreError {
    super::conflict_means(
        e,
        &format!("the domain {domain} is claimed by another organization"),
    )
}

/// Implements [`SsoStore`](crate::SsoStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_sso_store {
    ($store:ty) => {
        const _: () = {
            use std::sync::LazyLock;

            use $crate::__private::async_trait;
            use $crate::__private::automatrix_core::Role;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{
                InvitedUser, NewSsoLogin, SsoDomain, SsoLogin, SsoStore, StoreResult, User,
            };

            const DOMAIN_COLUMNS: &str =
                "select domain, organization_id, role, created_at, updated_at \
                 from organization_sso_domains";

            #[async_trait]
            impl SsoStore for $store {
                async fn create_sso_login(&self, new: NewSsoLogin) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    // Abandoned sign-ins go as new ones start: nothing else reads them.
                    sqlx::query("delete from sso_logins where expires_at < $1")
                        .bind(new.now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "insert into sso_logins (id, state_hash, code_verifier, nonce, \
                             expires_at, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $6)",
                    )
                    .bind(new.id)
                    .bind(&new.state_hash)
                    .bind(&new.code_verifier)
                    .bind(&new.nonce)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn spend_sso_login(
                    &self,
                    state_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<SsoLogin>> {
                    Ok(sqlx::query_as::<_, SsoLogin>(
                        "update sso_logins set used_at = $2, updated_at = $2 \
                         where state_hash = $1 and used_at is null and expires_at > $2 \
                         returning id, state_hash, code_verifier, nonce, expires_at, used_at, \
                             created_at, updated_at",
                    )
                    .bind(state_hash)
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?)
                }

                async fn list_sso_domains(&self, org: Uuid) -> StoreResult<Vec<SsoDomain>> {
                    static LIST: LazyLock<String> = LazyLock::new(|| {
                        format!("{DOMAIN_COLUMNS} where organization_id = $1 order by domain")
                    });
                    Ok(sqlx::query_as::<_, SsoDomain>(LIST.as_str())
                        .bind(org)
                        .fetch_all(self.pool())
                        .await?)
                }

                async fn set_sso_domains(
                    &self,
                    org: Uuid,
                    domains: &[String],
                    role: Role,
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<SsoDomain>> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query("delete from organization_sso_domains where organization_id = $1")
                        .bind(org)
                        .execute(&mut *tx)
                        .await?;
                    for domain in domains {
                        sqlx::query(
                            "insert into organization_sso_domains \
                                 (domain, organization_id, role, created_at, updated_at) \
                             values ($1, $2, $3, $4, $4)",
                        )
                        .bind(domain)
                        .bind(org)
                        .bind(role.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| $crate::sql::sso_domain_taken(e, domain))?;
                    }
                    tx.commit().await?;
                    self.list_sso_domains(org).await
                }

                async fn find_sso_domain(&self, domain: &str) -> StoreResult<Option<SsoDomain>> {
                    static ONE: LazyLock<String> =
                        LazyLock::new(|| format!("{DOMAIN_COLUMNS} where domain = $1"));
                    Ok(sqlx::query_as::<_, SsoDomain>(ONE.as_str())
                        .bind(domain)
                        .fetch_optional(self.pool())
                        .await?)
                }

                async fn create_sso_user(
                    &self,
                    org: Uuid,
                    role: Role,
                    new: InvitedUser,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    let mut tx = self.begin_write().await?;
                    let user = sqlx::query_as::<_, User>($crate::sql::INSERT_USER)
                    .bind(new.id)
                    .bind(org)
                    .bind(&new.email)
                    .bind(&new.name)
                    .bind(&new.password_hash)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err($crate::sql::email_taken)?;
                    sqlx::query(
                        "insert into memberships \
                             (organization_id, user_id, role, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4)",
                    )
                    .bind(org)
                    .bind(user.id)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(user)
                }

                async fn join_organization(
                    &self,
                    org: Uuid,
                    user: Uuid,
                    role: Role,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "insert into memberships \
                             (organization_id, user_id, role, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4) on conflict do nothing",
                    )
                    .bind(org)
                    .bind(user)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}
