//! [`AuditStore`](crate::AuditStore): the append-only audit log.

/// Implements [`AuditStore`](crate::AuditStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_audit_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::sqlx;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::{AuditEntry, AuditFilter, AuditStore, StoreResult};

            #[async_trait]
            impl AuditStore for $store {
                async fn record_audit(&self, e: AuditEntry) -> StoreResult<()> {
                    sqlx::query(
                        "insert into audit_log (id, organization_id, actor_id, api_key_id, \
                             action, target, ip, created_at) \
                         values ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(e.id)
                    .bind(e.organization_id)
                    .bind(e.actor_id)
                    .bind(e.api_key_id)
                    .bind(&e.action)
                    .bind(&e.target)
                    .bind(&e.ip)
                    .bind(e.created_at)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(())
                }

                async fn list_audit(
                    &self,
                    org: Uuid,
                    f: &AuditFilter,
                ) -> StoreResult<Vec<AuditEntry>> {
                    // An action ending in `.` names a family: matched as a prefix, with LIKE's
                    // wildcards in it escaped.
                    let (exact, prefix) = match f.action.as_deref() {
                        Some(a) if a.ends_with('.') => (None, Some(format!("{}%", $crate::sql::like_escape(a)))),
                        other => (other.map(str::to_owned), None),
                    };
                    Ok(sqlx::query_as::<_, AuditEntry>(
                        "select * from audit_log \
                         where (organization_id = $1 \
                                or (organization_id is null and actor_id in \
                                    (select user_id from memberships where organization_id = $1))) \
                           and ($2 is null or actor_id = $2) \
                           and ($3 is null or action = $3) \
                           and ($4 is null or action like $4 escape '\\') \
                           and ($5 is null or target = $5) \
                           and ($6 is null or created_at >= $6) \
                           and ($7 is null or created_at < $7) \
                           and ($8 is null or id < $8) \
                         order by id desc limit $9",
                    )
                    .bind(org)
                    .bind(f.actor_id)
                    .bind(exact)
                    .bind(prefix)
                    .bind(&f.target)
                    .bind(f.since)
                    .bind(f.until)
                    .bind(f.before)
                    .bind(i64::from(f.limit))
                    .fetch_all(self.pool())
                    .await?)
                }
            }
        };
    };
}

/// `text` with LIKE's wildcards (and the escape character) escaped by `\`.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
