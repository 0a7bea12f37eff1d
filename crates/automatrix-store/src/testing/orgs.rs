//! Promises of [`OrgStore`](crate::OrgStore).

use automatrix_core::Role;
use chrono::Duration;
use futures::future::join_all;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{
    InvitedUser, MemberChange, NewInvitation, NewOrganization, OrganizationUpdate, Store,
    StoreError, User,
};

async fn new_organization(store: &dyn Store, owner: &User, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    let org = ok!(store.create_organization(NewOrganization {
        id,
        name: name.into(),
        owner: owner.id,
        now: now(),
    }));
    assert_eq!(
        (org.id, org.name.as_str(), org.require_mfa),
        (id, name, false)
    );
    id
}

pub async fn a_user_belongs_to_several_organizations_first_one_first(store: &dyn Store) {
    let user = new_tenant(store).await;
    let home = user.organization_id;
    let access = ok!(store.member_access(user.id, None)).expect("a new account owns its org");
    assert_eq!((access.organization_id, access.role), (home, Role::Owner));

    let second = new_organization(store, &user, "Second Rooftop").await;
    let other = new_tenant(store).await;
    ok!(store.add_member(other.organization_id, user.id, Role::Viewer, now()));

    let listed: Vec<(Uuid, Role)> = ok!(store.list_user_organizations(user.id))
        .into_iter()
        .map(|o| (o.organization.id, o.role))
        .collect();
    assert_eq!(
        listed,
        [
            (home, Role::Owner),
            (second, Role::Owner),
            (other.organization_id, Role::Viewer)
        ]
    );
    let default = ok!(store.member_access(user.id, None)).unwrap();
    assert_eq!(
        default.organization_id, home,
        "the oldest membership is the default"
    );
    let chosen = ok!(store.member_access(user.id, Some(other.organization_id))).unwrap();
    assert_eq!(chosen.role, Role::Viewer);
    assert!(
        ok!(store.member_access(other.id, Some(home))).is_none(),
        "not a member of another's organization"
    );
    assert!(ok!(store.member_access(Uuid::now_v7(), None)).is_none());

    let again = store
        .add_member(other.organization_id, user.id, Role::Admin, now())
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

    let updated = ok!(store.update_organization(
        second,
        OrganizationUpdate {
            name: None,
            require_mfa: Some(true)
        },
        now()
    ));
    assert_eq!(
        (updated.name.as_str(), updated.require_mfa),
        ("Second Rooftop", true)
    );
    assert!(
        ok!(store.member_access(user.id, Some(second)))
            .unwrap()
            .require_mfa
    );
    let missing = store
        .update_organization(Uuid::now_v7(), OrganizationUpdate::default(), now())
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn the_last_owner_stays(store: &dyn Store) {
    let owner = new_tenant(store).await;
    let org = owner.organization_id;
    let second = new_tenant(store).await;
    ok!(store.add_member(org, second.id, Role::Editor, now()));

    let demote = ok!(store.set_member_role(org, owner.id, Role::Admin, now()));
    assert_eq!(demote, MemberChange::LastOwner);
    assert_eq!(
        ok!(store.remove_member(org, owner.id)),
        MemberChange::LastOwner
    );
    assert_eq!(
        ok!(store.set_member_role(org, Uuid::now_v7(), Role::Admin, now())),
        MemberChange::NotMember
    );

    // With two owners, two concurrent demotions cannot both go through.
    assert_eq!(
        ok!(store.set_member_role(org, second.id, Role::Owner, now())),
        MemberChange::Done
    );
    let results = join_all([
        store.set_member_role(org, owner.id, Role::Viewer, now()),
        store.set_member_role(org, second.id, Role::Viewer, now()),
    ])
    .await;
    let done = results
        .iter()
        .filter(|r| matches!(r, Ok(MemberChange::Done)))
        .count();
    assert_eq!(done, 1, "{results:?}");
    let owners = ok!(store.list_members(org))
        .into_iter()
        .filter(|m| m.role == Role::Owner)
        .count();
    assert_eq!(owners, 1);

    let members = ok!(store.list_members(org));
    let viewer = members.iter().find(|m| m.role == Role::Viewer).unwrap();
    assert_eq!(
        ok!(store.remove_member(org, viewer.user_id)),
        MemberChange::Done
    );
    assert!(ok!(store.get_member(org, viewer.user_id)).is_none());
    assert_eq!(ok!(store.list_members(org)).len(), 1);
}

pub async fn an_invitation_is_accepted_once(store: &dyn Store) {
    let owner = new_tenant(store).await;
    let org = owner.organization_id;
    let invite = |email: &str, hash: &str, expires_in: Duration| NewInvitation {
        id: Uuid::now_v7(),
        organization_id: org,
        email: email.into(),
        role: Role::Editor,
        token_hash: hash.into(),
        invited_by: owner.id,
        expires_at: now() + expires_in,
        now: now(),
    };
    let tag = Uuid::now_v7().simple().to_string();
    let fresh = ok!(store.create_invitation(invite(
        &format!("new-{tag}@dealer.test"),
        &format!("a{tag}"),
        Duration::days(7)
    )));
    let expired = ok!(store.create_invitation(invite(
        &format!("late-{tag}@dealer.test"),
        &format!("b{tag}"),
        Duration::seconds(-1)
    )));
    let pending: Vec<Uuid> = ok!(store.list_invitations(org, now()))
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(pending, [fresh.id], "expired invitations are not listed");
    assert_eq!(
        ok!(store.find_invitation(&format!("a{tag}"))).map(|i| i.id),
        Some(fresh.id)
    );

    let account = |email: &str| InvitedUser {
        id: Uuid::now_v7(),
        email: email.into(),
        name: "New Hire".into(),
        password_hash: "x".into(),
    };
    let user = ok!(store.accept_invitation_as_new_user(fresh.id, account(&fresh.email), now()))
        .expect("an open invitation creates the account");
    assert_eq!(user.organization_id, org);
    let access = ok!(store.member_access(user.id, None)).unwrap();
    assert_eq!((access.organization_id, access.role), (org, Role::Editor));
    assert!(
        ok!(store.accept_invitation_as_new_user(fresh.id, account("other@dealer.test"), now()))
            .is_none(),
        "spent"
    );
    assert!(
        ok!(store.find_user_by_email("other@dealer.test")).is_none(),
        "nothing half-written"
    );
    assert!(
        !ok!(store.accept_invitation(fresh.id, owner.id, now())),
        "spent"
    );
    assert!(
        !ok!(store.accept_invitation(expired.id, user.id, now())),
        "expired"
    );
    assert!(ok!(store.list_invitations(org, now())).is_empty());

    // An existing account accepts; a member already keeps their role.
    let existing = new_tenant(store).await;
    let third = ok!(store.create_invitation(invite(
        &existing.email,
        &format!("c{tag}"),
        Duration::days(1)
    )));
    assert!(ok!(store.accept_invitation(third.id, existing.id, now())));
    let joined = ok!(store.get_member(org, existing.id)).unwrap();
    assert_eq!(joined.role, Role::Editor);
    let taken = store
        .accept_invitation_as_new_user(
            ok!(store.create_invitation(invite(
                &existing.email,
                &format!("d{tag}"),
                Duration::days(1)
            )))
            .id,
            account(&existing.email),
            now(),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    let withdrawn = ok!(store.create_invitation(invite(
        "w@dealer.test",
        &format!("e{tag}"),
        Duration::days(1)
    )));
    let stranger = new_tenant(store).await;
    assert!(!ok!(
        store.delete_invitation(stranger.organization_id, withdrawn.id)
    ));
    assert!(ok!(store.delete_invitation(org, withdrawn.id)));
}
