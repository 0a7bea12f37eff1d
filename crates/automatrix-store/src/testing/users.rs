//! Promises of [`UserStore`](crate::UserStore): users, organizations and refresh tokens.

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{NewRefreshToken, NewUser, Store, StoreError, User};

pub async fn user_and_organization_are_created_together(store: &dyn Store) {
    let user = new_tenant(store).await;
    let found = ok!(store.find_user_by_email(&user.email)).expect("the user is found by email");
    assert_eq!(found.id, user.id);
    assert_eq!(found.organization_id, user.organization_id);
    assert_eq!(found.password_hash, user.password_hash);
    let upper = ok!(store.find_user_by_email(&user.email.to_uppercase()));
    assert_eq!(
        upper.map(|u| u.id),
        Some(user.id),
        "emails compare case-insensitively"
    );
    let by_id = ok!(store.get_user(user.id)).expect("the user by id");
    assert_eq!((by_id.email, by_id.name), (user.email, user.name));
    assert!(ok!(store.get_user(Uuid::now_v7())).is_none());
    let nobody = ok!(store.find_user_by_email("nobody@example.test"));
    assert!(nobody.is_none());
}

pub async fn an_email_is_registered_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    for email in [user.email.clone(), user.email.to_uppercase()] {
        let again = store
            .create_user_with_organization(NewUser {
                id: Uuid::now_v7(),
                organization_id: Uuid::now_v7(),
                organization_name: "Copycat Motors".to_owned(),
                email,
                name: "Copycat".to_owned(),
                password_hash: "x".to_owned(),
                now: now(),
            })
            .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "a taken email: {again:?}"
        );
    }
    let found = ok!(store.find_user_by_email(&user.email)).expect("user");
    assert_eq!(found.id, user.id, "the first registration keeps the email");
}

pub async fn a_password_update_is_persisted(store: &dyn Store) {
    let user = new_tenant(store).await;
    let later = now() + Duration::seconds(5);
    ok!(store.update_user_password(user.id, "$argon2id$new", later));
    let updated = ok!(store.get_user(user.id)).expect("user");
    assert_eq!(updated.password_hash, "$argon2id$new");
    assert_eq!(updated.updated_at, later);
    let missing = store.update_user_password(Uuid::now_v7(), "x", later).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound)),
        "unknown user: {missing:?}"
    );
}

async fn new_token(store: &dyn Store, user: &User, family_id: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let t = now();
    ok!(store.insert_refresh_token(NewRefreshToken {
        id,
        user_id: user.id,
        family_id,
        token_hash: format!("sha256-{}", id.simple()),
        expires_at: t + Duration::days(30),
        now: t,
    }));
    id
}

async fn spend(store: &dyn Store, id: Uuid) -> bool {
    ok!(store.spend_refresh_token(id, now()))
}

pub async fn a_refresh_token_is_spent_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let family = Uuid::now_v7();
    let id = new_token(store, &user, family).await;
    let hash = format!("sha256-{}", id.simple());
    let token = ok!(store.find_refresh_token(&hash)).expect("token by hash");
    assert_eq!(
        (token.id, token.user_id, token.family_id),
        (id, user.id, family)
    );
    assert!(token.used_at.is_none() && token.revoked_at.is_none());

    assert!(spend(store, id).await, "the first spend succeeds");
    assert!(
        !spend(store, id).await,
        "a spent token cannot be spent again"
    );
    let token = ok!(store.find_refresh_token(&hash)).expect("token");
    assert!(token.used_at.is_some(), "spending records when");

    let raced = new_token(store, &user, family).await;
    let (a, b) = tokio::join!(spend(store, raced), spend(store, raced));
    assert!(
        a ^ b,
        "exactly one of two concurrent spends wins (got {a} and {b})"
    );
    assert!(ok!(store.find_refresh_token("sha256-unknown")).is_none());
}

pub async fn revoking_tokens_revokes_exactly_those(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other_user = new_tenant(store).await;
    let (family, other_family) = (Uuid::now_v7(), Uuid::now_v7());
    let in_family = [
        new_token(store, &user, family).await,
        new_token(store, &user, family).await,
    ];
    let outside = new_token(store, &user, other_family).await;
    ok!(store.revoke_refresh_family(family, now()));
    for id in in_family {
        assert!(
            !spend(store, id).await,
            "a revoked family's token cannot be spent"
        );
    }
    assert!(spend(store, outside).await, "another family is untouched");

    let users_token = new_token(store, &user, other_family).await;
    let someone_elses = new_token(store, &other_user, Uuid::now_v7()).await;
    ok!(store.revoke_user_refresh_tokens(user.id, now()));
    assert!(
        !spend(store, users_token).await,
        "the user's tokens are revoked"
    );
    assert!(
        spend(store, someone_elses).await,
        "another user's tokens are untouched"
    );
    let hash = format!("sha256-{}", users_token.simple());
    let revoked = ok!(store.find_refresh_token(&hash)).expect("token");
    assert!(revoked.revoked_at.is_some());
}
