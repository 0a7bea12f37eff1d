//! Promises of [`CredentialStore`](crate::CredentialStore) and [`KvStore`](crate::KvStore).

use automatrix_core::{KvAnswer, KvOp};
use chrono::Duration;
use futures::future::join_all;
use serde_json::{Value, json};
use uuid::Uuid;

use super::fixtures::{new_tenant, new_workflow, now};
use crate::{CredentialUpdate, NewCredential, SealedColumn, SealedRewrite, Store, StoreError};

fn new_credential(org: Uuid, name: &str, sealed: &[u8]) -> NewCredential {
    NewCredential {
        id: Uuid::now_v7(),
        organization_id: org,
        name: name.to_owned(),
        kind: "smtp".to_owned(),
        sealed: sealed.to_vec(),
        now: now(),
    }
}

pub async fn credentials_are_named_once_per_organization_and_kept_sealed(store: &dyn Store) {
    let org = new_tenant(store).await.organization_id;
    let other = new_tenant(store).await.organization_id;
    let created = ok!(store.create_credential(new_credential(org, "Dealer SMTP", b"\x01sealed")));
    assert_eq!(created.sealed, b"\x01sealed");
    ok!(store.create_credential(new_credential(org, "Twilio", b"t")));
    // Another organization may use the same name.
    ok!(store.create_credential(new_credential(other, "Dealer SMTP", b"o")));

    let again = store
        .create_credential(new_credential(org, "Dealer SMTP", b"x"))
        .await;
    assert!(
        matches!(&again, Err(StoreError::Conflict(m)) if m.contains("name")),
        "a second credential of one name: {again:?}"
    );

    let names: Vec<String> = ok!(store.list_credentials(org))
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Dealer SMTP", "Twilio"], "listed by name");

    let rotated = ok!(store.update_credential(
        org,
        created.id,
        CredentialUpdate {
            name: None,
            sealed: Some(b"rotated".to_vec()),
        },
        now(),
    ));
    assert_eq!(rotated.name, "Dealer SMTP");
    assert_eq!(rotated.sealed, b"rotated");
    let taken = store
        .update_credential(
            org,
            created.id,
            CredentialUpdate {
                name: Some("Twilio".into()),
                sealed: None,
            },
            now(),
        )
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    // Another organization can neither see nor change it.
    assert!(ok!(store.get_credential(other, created.id)).is_none());
    let foreign = store
        .update_credential(other, created.id, CredentialUpdate::default(), now())
        .await;
    assert!(matches!(foreign, Err(StoreError::NotFound)), "{foreign:?}");
    assert!(!ok!(store.delete_credential(other, created.id)));

    assert!(ok!(store.delete_credential(org, created.id)));
    assert!(ok!(store.get_credential(org, created.id)).is_none());
    assert!(!ok!(store.delete_credential(org, created.id)));
}

/// Rewrites of every credential of the store (other promises may have left some), each to its
/// old value behind `prefix`.
async fn rewrite_all(store: &dyn Store, prefix: &[u8]) -> Vec<SealedRewrite> {
    ok!(store.list_all_credentials())
        .into_iter()
        .map(|c| SealedRewrite {
            column: SealedColumn::CredentialData,
            id: c.id,
            new: [prefix, &c.sealed].concat(),
            old: c.sealed,
        })
        .collect()
}

pub async fn sealed_values_are_replaced_all_at_once_or_not_at_all(store: &dyn Store) {
    let org = new_tenant(store).await.organization_id;
    let other = new_tenant(store).await.organization_id;
    let first = ok!(store.create_credential(new_credential(org, "SMTP", b"s1")));
    ok!(store.create_credential(new_credential(org, "Twilio", b"t1")));
    ok!(store.create_credential(new_credential(other, "SMTP", b"o1")));

    let all = ok!(store.list_all_credentials());
    let keys: Vec<(Uuid, Uuid)> = all.iter().map(|c| (c.organization_id, c.id)).collect();
    assert!(keys.is_sorted(), "listed by organization and id");
    let ours = all
        .iter()
        .filter(|c| [org, other].contains(&c.organization_id))
        .count();
    assert_eq!(ours, 3, "every organization's credentials");

    let sealed_of = async |id| ok!(store.get_credential(org, id)).unwrap().sealed;
    let mut changed = rewrite_all(store, b"k2:").await;
    changed.last_mut().unwrap().old = b"not what it holds".to_vec();
    let refused = store.replace_sealed(&changed).await;
    assert!(matches!(refused, Err(StoreError::Stale(_))), "{refused:?}");
    assert_eq!(
        sealed_of(first.id).await,
        b"s1",
        "a refused rewrite writes nothing"
    );

    let mut partial = rewrite_all(store, b"k2:").await;
    partial.pop();
    let refused = store.replace_sealed(&partial).await;
    assert!(
        matches!(refused, Err(StoreError::Stale(_))),
        "a value left out: {refused:?}"
    );
    assert_eq!(
        sealed_of(first.id).await,
        b"s1",
        "a refused rewrite writes nothing"
    );

    ok!(store.replace_sealed(&rewrite_all(store, b"k2:").await));
    let replaced = ok!(store.get_credential(org, first.id)).unwrap();
    assert_eq!(replaced.sealed, b"k2:s1");
    assert_eq!(
        replaced.updated_at, first.updated_at,
        "the data itself did not change"
    );
    let theirs = ok!(store.list_credentials(other));
    assert_eq!(theirs[0].sealed, b"k2:o1");
    ok!(store.replace_sealed(&[]));
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

fn set(key: &str, value: Value, only_if_absent: bool) -> KvOp {
    KvOp::Set {
        key: key.into(),
        value,
        expires_at: None,
        only_if_absent,
    }
}

pub async fn kv_entries_belong_to_one_workflow_and_expire(store: &dyn Store) {
    let user = new_tenant(store).await;
    let org = user.organization_id;
    let wf = new_workflow(store, &user).await.id;
    let other_wf = new_workflow(store, &user).await.id;
    let t = now();
    let kv = |wf: Uuid, op: KvOp| store.kv(org, wf, op, t);

    let miss = ok!(kv(wf, get("lead:1")));
    assert_eq!(
        miss,
        KvAnswer {
            value: Value::Null,
            hit: false
        }
    );
    let stored = ok!(kv(wf, set("lead:1", json!({"seen": true}), false)));
    assert!(stored.hit);
    assert_eq!(ok!(kv(wf, get("lead:1"))).value, json!({"seen": true}));
    assert!(
        !ok!(kv(other_wf, get("lead:1"))).hit,
        "another workflow's entry"
    );
    let stranger = new_tenant(store).await.organization_id;
    assert!(
        !ok!(store.kv(stranger, wf, get("lead:1"), t)).hit,
        "another organization"
    );

    // Set-if-absent leaves a live entry and answers it.
    let kept = ok!(kv(wf, set("lead:1", json!("new"), true)));
    assert_eq!(
        kept,
        KvAnswer {
            value: json!({"seen": true}),
            hit: false
        }
    );

    // An expired entry is absent: read, set-if-absent and increment start over.
    let expiring = KvOp::Set {
        key: "window".into(),
        value: json!(5),
        expires_at: Some(t + Duration::seconds(60)),
        only_if_absent: false,
    };
    ok!(kv(wf, expiring));
    let later = t + Duration::seconds(61);
    assert!(!ok!(store.kv(org, wf, get("window"), later)).hit);
    let bumped = ok!(store.kv(
        org,
        wf,
        KvOp::Increment {
            key: "window".into(),
            by: 1.0,
            expires_at: None
        },
        later
    ));
    assert_eq!(bumped.value, json!(1), "an expired counter starts from 0");
    let replaced = ok!(store.kv(
        org,
        wf,
        set("window", json!("x"), true),
        later + Duration::seconds(1)
    ));
    assert!(
        !replaced.hit,
        "the increment made it live again (no expiry now)"
    );

    // Delete says whether the key was there.
    assert!(
        ok!(kv(
            wf,
            KvOp::Delete {
                key: "lead:1".into()
            }
        ))
        .hit
    );
    assert!(
        !ok!(kv(
            wf,
            KvOp::Delete {
                key: "lead:1".into()
            }
        ))
        .hit
    );
}

pub async fn concurrent_increments_all_count(store: &dyn Store) {
    let user = new_tenant(store).await;
    let wf = new_workflow(store, &user).await.id;
    let org = user.organization_id;
    let increments = (0..20).map(|_| {
        let op = KvOp::Increment {
            key: "leads_today".into(),
            by: 1.0,
            expires_at: None,
        };
        store.kv(org, wf, op, now())
    });
    for done in join_all(increments).await {
        done.expect("increment");
    }
    let total = ok!(store.kv(org, wf, get("leads_today"), now()));
    assert_eq!(total.value, json!(20), "every increment counted");

    let half = ok!(store.kv(
        org,
        wf,
        KvOp::Increment {
            key: "leads_today".into(),
            by: 0.5,
            expires_at: None
        },
        now()
    ));
    assert_eq!(half.value, json!(20.5));
    ok!(store.kv(org, wf, set("name", json!("text"), false), now()));
    let not_a_number = store
        .kv(
            org,
            wf,
            KvOp::Increment {
                key: "name".into(),
                by: 1.0,
                expires_at: None,
            },
            now(),
        )
        .await;
    assert!(
        matches!(&not_a_number, Err(StoreError::Conflict(m)) if m.contains("not a number")),
        "{not_a_number:?}"
    );
}

pub async fn concurrent_sets_if_absent_store_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let wf = new_workflow(store, &user).await.id;
    let org = user.organization_id;
    let sets = (0..10).map(|i| store.kv(org, wf, set("adf:123", json!(i), true), now()));
    let mut stored = 0;
    for done in join_all(sets).await {
        if done.expect("set").hit {
            stored += 1;
        }
    }
    assert_eq!(
        stored, 1,
        "exactly one of concurrent first sightings stores"
    );
}
