//! Promises of [`SsoStore`](crate::SsoStore).

use automatrix_core::Role;
use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{InvitedUser, NewSsoLogin, Store, StoreError};

fn login(state_hash: &str, ttl: Duration) -> NewSsoLogin {
    NewSsoLogin {
        id: Uuid::now_v7(),
        state_hash: state_hash.into(),
        code_verifier: "verifier".into(),
        nonce: "nonce".into(),
        expires_at: now() + ttl,
        now: now(),
    }
}

pub async fn an_sso_state_is_spent_once_and_not_after_it_expires(store: &dyn Store) {
    let fresh = format!("fresh-{}", Uuid::now_v7());
    let stale = format!("stale-{}", Uuid::now_v7());
    ok!(store.create_sso_login(login(&fresh, Duration::minutes(10))));
    ok!(store.create_sso_login(login(&stale, Duration::seconds(-1))));

    let (a, b) = tokio::join!(
        store.spend_sso_login(&fresh, now()),
        store.spend_sso_login(&fresh, now())
    );
    let spent = [a.expect("spend a"), b.expect("spend b")];
    assert_eq!(
        spent.iter().filter(|s| s.is_some()).count(),
        1,
        "a state is spent exactly once by two concurrent callbacks"
    );
    let got = spent.into_iter().flatten().next().expect("spent");
    assert_eq!(
        (got.code_verifier.as_str(), got.nonce.as_str()),
        ("verifier", "nonce")
    );
    assert!(
        ok!(store.spend_sso_login(&stale, now())).is_none(),
        "an expired state is not spent"
    );
    assert!(ok!(store.spend_sso_login("unknown", now())).is_none());
}

pub async fn an_sso_domain_belongs_to_one_organization(store: &dyn Store) {
    let a = new_tenant(store).await;
    let b = new_tenant(store).await;
    let domain = format!("d{}.example.test", Uuid::now_v7().simple());
    let other = format!("o{}.example.test", Uuid::now_v7().simple());
    let set = ok!(store.set_sso_domains(
        a.organization_id,
        &[other.clone(), domain.clone()],
        Role::Editor,
        now()
    ));
    assert_eq!(set.len(), 2);
    assert!(set.iter().all(|d| d.role == Role::Editor));
    let found = ok!(store.find_sso_domain(&domain)).expect("domain found");
    assert_eq!(found.organization_id, a.organization_id);

    match store
        .set_sso_domains(
            b.organization_id,
            std::slice::from_ref(&domain),
            Role::Viewer,
            now(),
        )
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains(&domain), "{m}"),
        other => panic!("a domain of another organization is a conflict, got {other:?}"),
    }
    assert!(ok!(store.list_sso_domains(b.organization_id)).is_empty());

    // Replacing the list drops what is not in it, which frees it for another organization.
    ok!(store.set_sso_domains(
        a.organization_id,
        std::slice::from_ref(&other),
        Role::Viewer,
        now()
    ));
    assert!(ok!(store.find_sso_domain(&domain)).is_none());
    ok!(store.set_sso_domains(
        b.organization_id,
        std::slice::from_ref(&domain),
        Role::Viewer,
        now()
    ));
    assert_eq!(
        ok!(store.find_sso_domain(&domain))
            .expect("domain")
            .organization_id,
        b.organization_id
    );
}

pub async fn an_sso_account_is_created_as_a_member(store: &dyn Store) {
    let owner = new_tenant(store).await;
    let org = owner.organization_id;
    let email = format!("sso-{}@example.test", Uuid::now_v7().simple());
    let user = ok!(store.create_sso_user(
        org,
        Role::Editor,
        InvitedUser {
            id: Uuid::now_v7(),
            email: email.clone(),
            name: "Sso User".into(),
            password_hash: "!sso".into(),
        },
        now()
    ));
    assert_eq!(user.organization_id, org);
    let access = ok!(store.member_access(user.id, Some(org))).expect("a member");
    assert_eq!(access.role, Role::Editor);
    let again = store
        .create_sso_user(
            org,
            Role::Editor,
            InvitedUser {
                id: Uuid::now_v7(),
                email,
                name: "Twice".into(),
                password_hash: "!sso".into(),
            },
            now(),
        )
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let other = new_tenant(store).await;
    assert!(ok!(store.join_organization(
        org,
        other.id,
        Role::Viewer,
        now()
    )));
    assert!(
        !ok!(store.join_organization(org, other.id, Role::Admin, now())),
        "a member keeps their role"
    );
    let access = ok!(store.member_access(other.id, Some(org))).expect("a member");
    assert_eq!(access.role, Role::Viewer);
}
