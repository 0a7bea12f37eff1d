//! Promises of [`AuditStore`](crate::AuditStore).

use automatrix_core::Role;
use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{AuditEntry, AuditFilter, Store};

fn entry(org: Option<Uuid>, actor: Uuid, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        organization_id: org,
        actor_id: Some(actor),
        api_key_id: None,
        action: action.into(),
        target: Some(target.into()),
        ip: Some("192.0.2.7".into()),
        created_at: now(),
    }
}

fn actions(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.action.as_str()).collect()
}

pub async fn an_organizations_log_holds_its_changes_and_its_members_sign_ins(store: &dyn Store) {
    let admin = new_tenant(store).await;
    let org = admin.organization_id;
    let member = new_tenant(store).await;
    ok!(store.add_member(org, member.id, Role::Viewer, now()));
    let stranger = new_tenant(store).await;

    for e in [
        entry(Some(org), admin.id, "workflow.create", "w1"),
        entry(None, member.id, "auth.login", &member.id.to_string()),
        entry(Some(org), admin.id, "workflow_x.update", "w1"),
        entry(Some(org), admin.id, "member.add", &member.id.to_string()),
        entry(None, stranger.id, "auth.login", &stranger.id.to_string()),
        entry(
            Some(stranger.organization_id),
            stranger.id,
            "workflow.create",
            "w9",
        ),
    ] {
        ok!(store.record_audit(e));
    }
    let all = |f: AuditFilter| async move {
        store
            .list_audit(org, &AuditFilter { limit: 50, ..f })
            .await
            .expect("list_audit")
    };
    let listed = all(AuditFilter::default()).await;
    assert_eq!(
        actions(&listed),
        [
            "member.add",
            "workflow_x.update",
            "auth.login",
            "workflow.create"
        ],
        "newest first; another organization's entries and non-members' sign-ins are not shown"
    );
    assert_eq!(listed[2].actor_id, Some(member.id));
    assert_eq!(listed[0].ip.as_deref(), Some("192.0.2.7"));

    let family = all(AuditFilter {
        action: Some("workflow.".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        actions(&family),
        ["workflow.create"],
        "`_` is not a wildcard"
    );
    let exact = all(AuditFilter {
        action: Some("member.add".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(exact.len(), 1);
    let by_actor = all(AuditFilter {
        actor_id: Some(member.id),
        ..Default::default()
    })
    .await;
    assert_eq!(actions(&by_actor), ["auth.login"]);
    let by_target = all(AuditFilter {
        target: Some("w1".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(by_target.len(), 2);
    let future = all(AuditFilter {
        since: Some(now() + Duration::hours(1)),
        ..Default::default()
    })
    .await;
    assert!(future.is_empty());

    // Keyset pages.
    let first = ok!(store.list_audit(
        org,
        &AuditFilter {
            limit: 3,
            ..Default::default()
        }
    ));
    let rest = ok!(store.list_audit(
        org,
        &AuditFilter {
            limit: 3,
            before: first.last().map(|e| e.id),
            ..Default::default()
        }
    ));
    assert_eq!(actions(&first).len() + actions(&rest).len(), 4);
    assert_eq!(actions(&rest), ["workflow.create"]);
}
