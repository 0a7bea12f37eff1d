//! Promises of [`ApiKeyStore`](crate::ApiKeyStore).

use automatrix_core::Role;
use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{NewApiKey, Store, StoreError, User};

fn new_api_key(user: &User, name: &str, expires_at: Option<DateTime<Utc>>) -> NewApiKey {
    let id = Uuid::now_v7();
    NewApiKey {
        id,
        organization_id: user.organization_id,
        user_id: user.id,
        name: name.to_owned(),
        role: Role::Editor,
        prefix: format!("amx_{}", &id.simple().to_string()[26..]),
        // Stands for the SHA-256 hex of a key: unique, and unlike any key.
        key_hash: format!("{}{}", id.simple(), id.simple()),
        expires_at,
        now: now(),
    }
}

pub async fn api_keys_are_named_once_per_organization_and_found_by_hash(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    let expiry = now() + Duration::days(30);
    let new = new_api_key(&user, "Zapier", Some(expiry));
    let hash = new.key_hash.clone();
    let created = ok!(store.create_api_key(new.clone()));
    assert_eq!(
        (
            created.id,
            created.user_id,
            created.role,
            created.expires_at
        ),
        (new.id, user.id, Role::Editor, Some(expiry))
    );
    assert_eq!(created.prefix, new.prefix);
    assert!(created.last_used_at.is_none(), "a new key was never used");
    ok!(store.create_api_key(new_api_key(&user, "DMS sync", None)));
    // Another organization may use the same name.
    ok!(store.create_api_key(new_api_key(&other, "Zapier", None)));

    let again = store
        .create_api_key(new_api_key(&user, "Zapier", None))
        .await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m.contains("name")),
        "a second key of one name: {again:?}"
    );

    let names: Vec<String> = ok!(store.list_api_keys(user.organization_id))
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["DMS sync", "Zapier"], "listed by name");

    let found = ok!(store.find_api_key(&hash)).expect("found by its hash");
    assert_eq!(
        (found.id, found.organization_id),
        (created.id, user.organization_id)
    );
    assert!(ok!(store.find_api_key("0".repeat(64).as_str())).is_none());

    // Another organization can neither delete it nor see it in its list.
    assert!(!ok!(store.delete_api_key(other.organization_id, created.id)));
    let theirs = ok!(store.list_api_keys(other.organization_id));
    assert!(theirs.iter().all(|k| k.id != created.id), "{theirs:?}");

    assert!(ok!(store.delete_api_key(user.organization_id, created.id)));
    assert!(ok!(store.find_api_key(&hash)).is_none(), "a deleted key");
    assert!(!ok!(store.delete_api_key(user.organization_id, created.id)));
}

pub async fn an_api_key_use_is_recorded_once_per_window(store: &dyn Store) {
    let user = new_tenant(store).await;
    let key = ok!(store.create_api_key(new_api_key(&user, "Webhook relay", None)));
    let window = Duration::minutes(1);
    let t = now();
    assert!(ok!(store.record_api_key_use(key.id, t, t - window)));
    let read = async || ok!(store.list_api_keys(user.organization_id))[0].last_used_at;
    assert_eq!(read().await, Some(t));

    // Within the window nothing is written; after it, the new use is.
    let soon = t + Duration::seconds(20);
    assert!(!ok!(store.record_api_key_use(key.id, soon, soon - window)));
    assert_eq!(read().await, Some(t));
    let later = t + Duration::seconds(61);
    assert!(ok!(store.record_api_key_use(key.id, later, later - window)));
    assert_eq!(read().await, Some(later));

    // Of concurrent uses after the window, one writes.
    let much_later = later + Duration::minutes(5);
    let wrote =
        join_all((0..4).map(|_| store.record_api_key_use(key.id, much_later, much_later - window)))
            .await;
    let writes = wrote.into_iter().map(Result::unwrap).filter(|w| *w).count();
    assert_eq!(writes, 1, "concurrent uses in one window");
    assert!(!ok!(store.record_api_key_use(
        Uuid::now_v7(),
        t,
        t - window
    )));
}
