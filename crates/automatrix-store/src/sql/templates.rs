//! [`TemplateStore`](crate::TemplateStore): built-in templates (by slug, no organization) and
//! each organization's own.

/// Implements [`TemplateStore`](crate::TemplateStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_template_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::automatrix_core::template::TemplateSpec;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::__private::sqlx::types::Json;
            use $crate::__private::uuid::Uuid;
            use $crate::sql::Dialect;
            use $crate::{NewTemplate, StoreResult, TemplateRow, TemplateStore};

            #[async_trait]
            impl TemplateStore for $store {
                async fn upsert_builtin_templates(
                    &self,
                    specs: &[TemplateSpec],
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let mut tx = self.writer().await?;
                    for spec in specs {
                        sqlx::query(
                            "insert into templates (id, organization_id, slug, name, category, \
                                 spec, created_at, updated_at) \
                             values ($1, null, $2, $3, $4, $5, $6, $6) \
                             on conflict (slug) where organization_id is null do update set \
                                 name = excluded.name, category = excluded.category, \
                                 spec = excluded.spec, updated_at = excluded.updated_at",
                        )
                        .bind(Uuid::now_v7())
                        .bind(spec.slug.as_deref())
                        .bind(&spec.name)
                        .bind(&spec.category)
                        .bind(Json(spec))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Ok(())
                }

                async fn list_templates(&self, org: Uuid) -> StoreResult<Vec<TemplateRow>> {
                    Ok(sqlx::query_as::<_, TemplateRow>(
                        "select * from templates \
                         where organization_id is null or organization_id = $1 \
                         order by category, name, id",
                    )
                    .bind(org)
                    .fetch_all(self.pool())
                    .await?)
                }

                async fn get_template(
                    &self,
                    org: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<TemplateRow>> {
                    Ok(sqlx::query_as::<_, TemplateRow>(
                        "select * from templates \
                         where id = $2 and (organization_id is null or organization_id = $1)",
                    )
                    .bind(org)
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?)
                }

                async fn create_template(&self, new: NewTemplate) -> StoreResult<TemplateRow> {
                    Ok(sqlx::query_as::<_, TemplateRow>(
                        "insert into templates (id, organization_id, slug, name, category, spec, \
                             created_by, created_at, updated_at) \
                         values ($1, $2, null, $3, $4, $5, $6, $7, $7) \
                         returning *",
                    )
                    .bind(new.id)
                    .bind(new.organization_id)
                    .bind(&new.spec.name)
                    .bind(&new.spec.category)
                    .bind(Json(&new.spec))
                    .bind(new.created_by)
                    .bind(new.now)
                    .fetch_one(&mut *self.writer().await?)
                    .await?)
                }

                async fn update_template(
                    &self,
                    org: Uuid,
                    id: Uuid,
                    spec: &TemplateSpec,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<TemplateRow>> {
                    Ok(sqlx::query_as::<_, TemplateRow>(
                        "update templates set name = $3, category = $4, spec = $5, updated_at = $6 \
                         where organization_id = $1 and id = $2 \
                         returning *",
                    )
                    .bind(org)
                    .bind(id)
                    .bind(&spec.name)
                    .bind(&spec.category)
                    .bind(Json(spec))
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?)
                }

                async fn delete_template(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
                    let done = sqlx::query(
                        "delete from templates where organization_id = $1 and id = $2",
                    )
                    .bind(org)
                    .bind(id)
                    .execute(&mut *self.writer().await?)
                    .await?;
                    Ok(done.rows_affected() > 0)
                }
            }
        };
    };
}
