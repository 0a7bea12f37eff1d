//! Promises of [`TemplateStore`](crate::TemplateStore).

use automatrix_core::template::TemplateSpec;
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{NewTemplate, Store};

fn spec(slug: Option<&str>, name: &str, category: &str) -> TemplateSpec {
    serde_json::from_value(json!({
        "slug": slug, "name": name, "category": category, "description": "d",
        "definition": {"nodes": [{"id": "t", "type": "trigger.manual"}]},
        "sample_input": {"x": 1}
    }))
    .expect("a template")
}

pub async fn builtin_templates_are_upserted_by_slug_and_seen_by_every_organization(
    store: &dyn Store,
) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    let first = [spec(Some("lead-reply"), "Lead reply", "Sales")];
    ok!(store.upsert_builtin_templates(&first, now()));
    let before = ok!(store.list_templates(user.organization_id));
    let builtin = before
        .iter()
        .find(|t| t.slug.as_deref() == Some("lead-reply"))
        .expect("listed");
    assert!(builtin.builtin());
    // Loading again (with a changed name) keeps the id and replaces the content.
    let again = [spec(Some("lead-reply"), "Lead reply v2", "Sales")];
    ok!(store.upsert_builtin_templates(&again, now()));
    let got = ok!(store.get_template(other.organization_id, builtin.id))
        .expect("any organization sees it");
    assert_eq!(
        (got.name.as_str(), got.spec.0.name.as_str()),
        ("Lead reply v2", "Lead reply v2")
    );
    assert_eq!(
        ok!(store.list_templates(other.organization_id)).len(),
        before.len()
    );
    // Built-in templates are nobody's to change or delete.
    let spec_v3 = spec(None, "Mine now", "Sales");
    assert!(
        ok!(store.update_template(user.organization_id, builtin.id, &spec_v3, now())).is_none()
    );
    assert!(!ok!(store.delete_template(user.organization_id, builtin.id)));
}

pub async fn an_organizations_templates_are_its_own(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    let created = ok!(store.create_template(NewTemplate {
        id: Uuid::now_v7(),
        organization_id: user.organization_id,
        created_by: Some(user.id),
        spec: spec(None, "Our reminder", "Service"),
        now: now(),
    }));
    assert!(!created.builtin());
    assert_eq!(
        (created.category.as_str(), created.created_by),
        ("Service", Some(user.id))
    );
    assert!(ok!(store.get_template(other.organization_id, created.id)).is_none());
    assert!(
        ok!(store.list_templates(other.organization_id))
            .iter()
            .all(|t| t.id != created.id)
    );
    assert!(
        ok!(store.update_template(
            other.organization_id,
            created.id,
            &spec(None, "x", "Sales"),
            now()
        ))
        .is_none()
    );
    assert!(!ok!(
        store.delete_template(other.organization_id, created.id)
    ));

    let updated = ok!(store.update_template(
        user.organization_id,
        created.id,
        &spec(None, "Our reminder 2", "Parts"),
        now()
    ))
    .expect("its own");
    assert_eq!(
        (updated.name.as_str(), updated.category.as_str()),
        ("Our reminder 2", "Parts")
    );
    assert_eq!(updated.spec.0.sample_input, json!({"x": 1}));
    assert!(ok!(store.delete_template(user.organization_id, created.id)));
    assert!(ok!(store.get_template(user.organization_id, created.id)).is_none());
}
