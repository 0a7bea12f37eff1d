//! [`OrgStore`](crate::OrgStore): organizations, memberships and invitations.

use crate::StoreError;

/// A unique violation on `memberships` is the (organization, user) key.
pub fn already_member(e: sqlx::Error) -> StoreError {
    super::conflict_means(e, "the user is already a member of this organization")
}

/// Implements [`OrgStore`](crate::OrgStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_org_store {
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
                InvitedUser, Invitation, Member, MemberAccess, MemberChange, NewInvitation,
                NewOrganization, OrgStore, Organization, OrganizationUpdate, StoreError,
                StoreResult, User, UserOrganization,
            };

            type Connection = <<$store as Dialect>::Database as sqlx::Database>::Connection;

            /// Locks the organization for a membership change (SQLite's write transaction
            /// already holds the database), so that owner counts cannot change under it.
            static LOCK_ORGANIZATION: LazyLock<String> = LazyLock::new(|| {
                format!(
                    "select id from organizations where id = $1{}",
                    <$store as Dialect>::LOCK_FOR_UPDATE,
                )
            });

            const ACCESS_COLUMNS: &str =
                "select m.organization_id, m.role, o.require_mfa, u.mfa_enabled \
                 from memberships m join organizations o on o.id = m.organization_id \
                 join users u on u.id = m.user_id";

            const MEMBER_COLUMNS: &str =
                "select m.user_id, u.email, u.name, m.role, m.created_at, m.updated_at \
                 from memberships m join users u on u.id = m.user_id";

            /// Spends an open invitation: `$1` id, `$2` accepting user, `$3` now.
            const SPEND_INVITATION: &str = "update invitations \
                 set accepted_at = $3, accepted_by = $2, updated_at = $3 \
                 where id = $1 and accepted_at is null and expires_at > $3 \
                 returning *";

            /// `$1` organization, `$2` user, `$3` role, `$4` now; an existing member keeps
            /// their role.
            const JOIN: &str = "insert into memberships \
                     (organization_id, user_id, role, created_at, updated_at) \
                 values ($1, $2, $3, $4, $4) on conflict do nothing";

            /// Whether a change to `user`'s membership of `org` may go ahead (`Ok(None)`), with the
            /// organization locked; `loses_owner_role`: the change takes the owner role away.
            async fn owners_guard(
                conn: &mut Connection,
                org: Uuid,
                user: Uuid,
                loses_owner_role: bool,
            ) -> StoreResult<Option<MemberChange>> {
                sqlx::query(LOCK_ORGANIZATION.as_str())
                    .bind(org)
                    .fetch_optional(&mut *conn)
                    .await?;
                let current: Option<String> = sqlx::query_scalar(
                    "select role from memberships where organization_id = $1 and user_id = $2",
                )
                .bind(org)
                .bind(user)
                .fetch_optional(&mut *conn)
                .await?;
                let Some(current) = current else {
                    return Ok(Some(MemberChange::NotMember));
                };
                if current == Role::Owner.as_str() && loses_owner_role {
                    let owners: i64 = sqlx::query_scalar(
                        "select count(*) from memberships \
                         where organization_id = $1 and role = 'owner'",
                    )
                    .bind(org)
                    .fetch_one(&mut *conn)
                    .await?;
                    if owners <= 1 {
                        return Ok(Some(MemberChange::LastOwner));
                    }
                }
                Ok(None)
            }

            #[async_trait]
            impl OrgStore for $store {
                async fn create_organization(
                    &self,
                    new: NewOrganization,
                ) -> StoreResult<Organization> {
                    let mut tx = self.begin_write().await?;
                    let org = sqlx::query_as::<_, Organization>(
                        "insert into organizations (id, name, created_at, updated_at) \
                         values ($1, $2, $3, $3) returning *",
                    )
                    .bind(new.id)
                    .bind(&new.name)
                    .bind(new.now)
                    .fetch_one(&mut *tx)
                    .await?;
                    sqlx::query(JOIN)
                        .bind(new.id)
                        .bind(new.owner)
                        .bind(Role::Owner.as_str())
                        .bind(new.now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(org)
                }

                async fn get_organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
                    Ok(sqlx::query_as::<_, Organization>(
                        "select * from organizations where id = $1",
                    )
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn update_organization(
                    &self,
                    id: Uuid,
                    update: OrganizationUpdate,
                    now: DateTime<Utc>,
                ) -> StoreResult<Organization> {
                    sqlx::query_as::<_, Organization>(
                        "update organizations set name = coalesce($2, name), \
                             require_mfa = coalesce($3, require_mfa), updated_at = $4 \
                         where id = $1 returning *",
                    )
                    .bind(id)
                    .bind(update.name)
                    .bind(update.require_mfa)
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?
                    .ok_or(StoreError::NotFound)
                }

                async fn list_user_organizations(
                    &self,
                    user: Uuid,
                ) -> StoreResult<Vec<UserOrganization>> {
                    Ok(sqlx::query_as::<_, UserOrganization>(
                        "select o.*, m.role from memberships m \
                         join organizations o on o.id = m.organization_id \
                         where m.user_id = $1 order by m.created_at, m.organization_id",
                    )
                    .bind(user)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn member_access(
                    &self,
                    user: Uuid,
                    org: Option<Uuid>,
                ) -> StoreResult<Option<MemberAccess>> {
                    static IN_ORG: LazyLock<String> = LazyLock::new(|| {
                        format!("{ACCESS_COLUMNS} where m.user_id = $1 and m.organization_id = $2")
                    });
                    static FIRST: LazyLock<String> = LazyLock::new(|| {
                        format!(
                            "{ACCESS_COLUMNS} where m.user_id = $1 \
                             order by m.created_at, m.organization_id limit 1"
                        )
                    });
                    let query = match org {
                        Some(org) => sqlx::query_as::<_, MemberAccess>(IN_ORG.as_str()).bind(user).bind(org),
                        None => sqlx::query_as::<_, MemberAccess>(FIRST.as_str()).bind(user),
                    };
                    Ok(query.fetch_optional(self.pool()).await?)
                }

                async fn list_members(&self, org: Uuid) -> StoreResult<Vec<Member>> {
                    static LIST: LazyLock<String> = LazyLock::new(|| {
                        format!(
                            "{MEMBER_COLUMNS} where m.organization_id = $1 \
                             order by m.created_at, m.user_id"
                        )
                    });
                    Ok(sqlx::query_as::<_, Member>(LIST.as_str())
                        .bind(org)
                        .fetch_all(self.pool())
                        .await?)
                }

                async fn get_member(&self, org: Uuid, user: Uuid) -> StoreResult<Option<Member>> {
                    static ONE: LazyLock<String> = LazyLock::new(|| {
                        format!("{MEMBER_COLUMNS} where m.organization_id = $1 and m.user_id = $2")
                    });
                    Ok(sqlx::query_as::<_, Member>(ONE.as_str())
                        .bind(org)
                        .bind(user)
                        .fetch_optional(self.pool())
                        .await?)
                }

                async fn add_member(
                    &self,
                    org: Uuid,
                    user: Uuid,
                    role: Role,
                    now: DateTime<Utc>,
                ) -> StoreResult<Member> {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(
                        "insert into memberships \
                             (organization_id, user_id, role, created_at, updated_at) \
                         values ($1, $2, $3, $4, $4)",
                    )
                    .bind(org)
                    .bind(user)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::sql::already_member)?;
                    tx.commit().await?;
                    self.get_member(org, user).await?.ok_or(StoreError::NotFound)
                }

                async fn set_member_role(
                    &self,
                    org: Uuid,
                    user: Uuid,
                    role: Role,
                    now: DateTime<Utc>,
                ) -> StoreResult<MemberChange> {
                    let mut tx = self.begin_write().await?;
                    if let Some(refused) =
                        owners_guard(&mut tx, org, user, role != Role::Owner).await?
                    {
                        return Ok(refused);
                    }
                    sqlx::query(
                        "update memberships set role = $3, updated_at = $4 \
                         where organization_id = $1 and user_id = $2",
                    )
                    .bind(org)
                    .bind(user)
                    .bind(role.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(MemberChange::Done)
                }

                async fn remove_member(&self, org: Uuid, user: Uuid) -> StoreResult<MemberChange> {
                    let mut tx = self.begin_write().await?;
                    if let Some(refused) = owners_guard(&mut tx, org, user, true).await? {
                        return Ok(refused);
                    }
                    for delete in [
                        "delete from api_keys where organization_id = $1 and user_id = $2",
                        "delete from memberships where organization_id = $1 and user_id = $2",
                    ] {
                        sqlx::query(delete)
                            .bind(org)
                            .bind(user)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(MemberChange::Done)
                }

                async fn create_invitation(&self, new: NewInvitation) -> StoreResult<Invitation> {
                    Ok(sqlx::query_as::<_, Invitation>(
                        "insert into invitations (id, organization_id, email, role, token_hash, \
                             invited_by, expires_at, created_at, updated_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $8) returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(&new.email)
                    .bind(new.role.as_str())
                    .bind(&new.token_hash)
                    .bind(new.invited_by)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .fetch_one(&mut *self.writer().await?)
                    .await?)
                }

                async fn list_invitations(
                    &self,
                    org: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<Vec<Invitation>> {
                    Ok(sqlx::query_as::<_, Invitation>(
                        "select * from invitations where organization_id = $1 \
                             and accepted_at is null and expires_at > $2 \
                         order by created_at desc, id desc",
                    )
                    .bind(org)
                    .bind(now)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn delete_invitation(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "delete from invitations where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() == 1)
                }

                async fn find_invitation(&self, token_hash: &str) -> StoreResult<Option<Invitation>> {
                    Ok(sqlx::query_as::<_, Invitation>(
                        "select * from invitations where token_hash = $1",
                    )
                    .bind(token_hash)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn accept_invitation(
                    &self,
                    id: Uuid,
                    user: Uuid,
                    now: DateTime<Utc>,
                ) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let Some(invitation) = sqlx::query_as::<_, Invitation>(SPEND_INVITATION)
                        .bind(id)
                        .bind(user)
                        .bind(now)
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Ok(false);
                    };
                    sqlx::query(JOIN)
                        .bind(invitation.organization_id)
                        .bind(user)
                        .bind(invitation.role.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn accept_invitation_as_new_user(
                    &self,
                    id: Uuid,
                    new: InvitedUser,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<User>> {
                    let mut tx = self.begin_write().await?;
                    // The invitation is looked up inside the transaction: the account is
                    // created only if it is still open when it is spent below.
                    let Some(invitation) = sqlx::query_as::<_, Invitation>(
                        "select * from invitations \
                         where id = $1 and accepted_at is null and expires_at > $2",
                    )
                    .bind(id)
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                    else {
                        return Ok(None);
                    };
                    let user = sqlx::query_as::<_, User>($crate::sql::INSERT_USER)
                    .bind(new.id)
                    .bind(invitation.organization_id)
                    .bind(&new.email)
                    .bind(&new.name)
                    .bind(&new.password_hash)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err($crate::sql::email_taken)?;
                    let spent = sqlx::query(SPEND_INVITATION)
                        .bind(id)
                        .bind(user.id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if spent.rows_affected() != 1 {
                        return Ok(None);
                    }
                    sqlx::query(JOIN)
                        .bind(invitation.organization_id)
                        .bind(user.id)
                        .bind(invitation.role.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(Some(user))
                }
            }
        };
    };
}
