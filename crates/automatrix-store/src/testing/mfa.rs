//! Promises of [`MfaStore`](crate::MfaStore) and of the session methods of
//! [`UserStore`](crate::UserStore): a secret is enabled once and only as it was set up, a time
//! step and a recovery code are accepted once, a challenge is spent once and tried at most its
//! attempts (also concurrently), and sessions are listed and revoked per user.

use chrono::Duration;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{NewMfaChallenge, NewRefreshToken, Store};

pub async fn mfa_is_enabled_once_with_the_secret_set_up(store: &dyn Store) {
    let user = new_tenant(store).await;
    assert!(!user.mfa_enabled, "a new user has no MFA");
    assert!(ok!(store.get_user_mfa(user.id)).is_none());

    assert!(ok!(store.put_pending_mfa_secret(user.id, b"first", now())));
    assert!(
        ok!(store.put_pending_mfa_secret(user.id, b"second", now())),
        "a pending secret is replaced"
    );
    let codes = vec!["hash-a".to_owned(), "hash-b".to_owned()];
    assert!(
        !ok!(store.enable_mfa(user.id, b"first", 10, &codes, now())),
        "a replaced secret is not enabled"
    );
    assert!(!ok!(store.get_user(user.id)).expect("user").mfa_enabled);
    assert!(ok!(store.enable_mfa(user.id, b"second", 10, &codes, now())));
    assert!(
        !ok!(store.enable_mfa(user.id, b"second", 11, &codes, now())),
        "enabled once"
    );

    let mfa = ok!(store.get_user_mfa(user.id)).expect("mfa row");
    assert_eq!(mfa.secret_sealed, b"second");
    assert!(mfa.enabled_at.is_some());
    assert_eq!(mfa.last_step, Some(10));
    assert!(ok!(store.get_user(user.id)).expect("user").mfa_enabled);
    assert!(
        ok!(store.find_user_by_email(&user.email))
            .expect("user")
            .mfa_enabled
    );
    assert_eq!(ok!(store.count_recovery_codes(user.id)), 2);
    assert!(
        !ok!(store.put_pending_mfa_secret(user.id, b"third", now())),
        "an enabled secret is not replaced"
    );
    assert_eq!(
        ok!(store.get_user_mfa(user.id)).expect("row").secret_sealed,
        b"second"
    );

    ok!(store.disable_mfa(user.id, now()));
    assert!(ok!(store.get_user_mfa(user.id)).is_none());
    assert!(!ok!(store.get_user(user.id)).expect("user").mfa_enabled);
    assert_eq!(ok!(store.count_recovery_codes(user.id)), 0);
}

pub async fn a_time_step_and_a_recovery_code_are_accepted_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    assert!(
        !ok!(store.accept_totp_step(user.id, 5, now())),
        "no MFA, nothing accepted"
    );
    ok!(store.put_pending_mfa_secret(user.id, b"s", now()));
    assert!(
        !ok!(store.accept_totp_step(user.id, 5, now())),
        "a pending secret accepts nothing"
    );
    ok!(store.enable_mfa(user.id, b"s", 5, &["r1".to_owned(), "r2".to_owned()], now()));

    assert!(
        !ok!(store.accept_totp_step(user.id, 5, now())),
        "the step used to enable"
    );
    assert!(
        !ok!(store.accept_totp_step(user.id, 4, now())),
        "an earlier step"
    );
    let (a, b) = tokio::join!(
        store.accept_totp_step(user.id, 6, now()),
        store.accept_totp_step(user.id, 6, now())
    );
    assert!(
        a.expect("a") ^ b.expect("b"),
        "one of two concurrent uses of a step wins"
    );
    assert!(ok!(store.accept_totp_step(user.id, 8, now())));

    assert!(
        !ok!(store.spend_recovery_code(other.id, "r1", now())),
        "another user's code"
    );
    let (a, b) = tokio::join!(
        store.spend_recovery_code(user.id, "r1", now()),
        store.spend_recovery_code(user.id, "r1", now())
    );
    assert!(
        a.expect("a") ^ b.expect("b"),
        "a recovery code is spent once"
    );
    assert!(!ok!(store.spend_recovery_code(user.id, "nope", now())));
    assert_eq!(ok!(store.count_recovery_codes(user.id)), 1);
}

pub async fn an_mfa_challenge_is_tried_a_limited_number_of_times_and_spent_once(store: &dyn Store) {
    let user = new_tenant(store).await;
    let challenge = |hash: &str, expires_in: Duration| NewMfaChallenge {
        id: Uuid::now_v7(),
        user_id: user.id,
        token_hash: hash.to_owned(),
        expires_at: now() + expires_in,
        now: now(),
    };
    let live = challenge("live", Duration::minutes(5));
    ok!(store.create_mfa_challenge(live.clone()));
    ok!(store.create_mfa_challenge(challenge("expired", Duration::seconds(-1))));

    assert!(ok!(store.attempt_mfa_challenge("expired", 5, now())).is_none());
    assert!(ok!(store.attempt_mfa_challenge("unknown", 5, now())).is_none());
    let first = ok!(store.attempt_mfa_challenge("live", 5, now())).expect("a live challenge");
    assert_eq!(
        (first.id, first.user_id, first.attempts),
        (live.id, user.id, 1)
    );

    // Eight concurrent tries of a challenge allowing five: four more get through.
    let tries: Vec<_> = (0..8)
        .map(|_| store.attempt_mfa_challenge("live", 5, now()))
        .collect();
    let through = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| r.as_ref().expect("attempt").is_some())
        .count();
    assert_eq!(through, 4, "five attempts in all");
    assert!(ok!(store.attempt_mfa_challenge("live", 5, now())).is_none());

    let spent = challenge("spent", Duration::minutes(5));
    ok!(store.create_mfa_challenge(spent.clone()));
    assert!(ok!(store.attempt_mfa_challenge("spent", 5, now())).is_some());
    let (a, b) = tokio::join!(
        store.spend_mfa_challenge(spent.id, now()),
        store.spend_mfa_challenge(spent.id, now())
    );
    assert!(a.expect("a") ^ b.expect("b"), "a challenge is spent once");
    assert!(ok!(store.attempt_mfa_challenge("spent", 5, now())).is_none());
}

pub async fn sessions_are_listed_and_revoked_per_user(store: &dyn Store) {
    let user = new_tenant(store).await;
    let other = new_tenant(store).await;
    let t0 = now();
    let token =
        |user_id: Uuid, family_id: Uuid, at: chrono::DateTime<chrono::Utc>| NewRefreshToken {
            id: Uuid::now_v7(),
            user_id,
            family_id,
            token_hash: format!("h-{}", Uuid::now_v7().simple()),
            expires_at: at + Duration::days(30),
            now: at,
        };
    let (a, b, gone) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let a1 = token(user.id, a, t0);
    ok!(store.insert_refresh_token(a1.clone()));
    ok!(store.spend_refresh_token(a1.id, t0 + Duration::seconds(1)));
    let a2 = token(user.id, a, t0 + Duration::seconds(1));
    ok!(store.insert_refresh_token(a2.clone()));
    ok!(store.insert_refresh_token(token(user.id, b, t0 + Duration::seconds(2))));
    ok!(store.insert_refresh_token(token(user.id, gone, t0)));
    ok!(store.revoke_refresh_family(gone, t0));
    ok!(store.insert_refresh_token(token(other.id, Uuid::now_v7(), t0)));

    let sessions = ok!(store.list_refresh_sessions(user.id, t0 + Duration::seconds(3)));
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![b, a], "live families, newest login first");
    let sa = &sessions[1];
    assert_eq!(sa.created_at, t0, "the login's time");
    assert_eq!(
        sa.refreshed_at,
        t0 + Duration::seconds(1),
        "the last refresh"
    );
    assert_eq!(sa.expires_at, a2.expires_at);
    let later = t0 + Duration::days(31);
    assert!(
        ok!(store.list_refresh_sessions(user.id, later)).is_empty(),
        "expired sessions end"
    );

    assert!(
        !ok!(store.revoke_user_refresh_session(other.id, a, now())),
        "not the other user's"
    );
    assert!(
        !ok!(store.revoke_user_refresh_session(user.id, gone, now())),
        "already revoked"
    );
    assert!(ok!(store.revoke_user_refresh_session(user.id, a, now())));
    assert!(
        !ok!(store.spend_refresh_token(a2.id, now())),
        "its token is revoked"
    );
    let ids: Vec<Uuid> = ok!(store.list_refresh_sessions(user.id, now()))
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![b]);

    let c = Uuid::now_v7();
    ok!(store.insert_refresh_token(token(user.id, c, now())));
    ok!(store.revoke_other_refresh_families(user.id, c, now()));
    let ids: Vec<Uuid> = ok!(store.list_refresh_sessions(user.id, now()))
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![c], "only the kept family is left");
    assert_eq!(
        ok!(store.list_refresh_sessions(other.id, now())).len(),
        1,
        "another user's stay"
    );
}

pub async fn a_throttled_key_backs_off_and_counts_concurrent_attempts(store: &dyn Store) {
    let policy = crate::Backoff {
        free: 3,
        base: std::time::Duration::from_secs(10),
        max: std::time::Duration::from_secs(60),
        forget_after: std::time::Duration::from_secs(3600),
    };
    let t = now();
    let key = format!("key-{}", Uuid::now_v7().simple());
    // Six concurrent attempts: three are made (the third locks), three are refused.
    let tries: Vec<_> = (0..6)
        .map(|_| store.attempt_throttled(&key, policy, t))
        .collect();
    let made = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(|r| r.as_ref().expect("attempt").is_ok())
        .count();
    assert_eq!(made, 3, "the free failures, counted in full");
    assert_eq!(
        ok!(store.attempt_throttled(&key, policy, t)),
        Err(t + Duration::seconds(10))
    );
    let later = t + Duration::seconds(10);
    assert_eq!(ok!(store.attempt_throttled(&key, policy, later)), Ok(()));
    assert_eq!(
        ok!(store.attempt_throttled(&key, policy, later)),
        Err(later + Duration::seconds(20)),
        "the lockout doubles"
    );

    ok!(store.forgive_throttled(&key, later));
    assert_eq!(
        ok!(store.attempt_throttled(&key, policy, later)),
        Ok(()),
        "a forgiven attempt lifts the lock it earned"
    );
    ok!(store.reset_throttled(&key));
    let other = format!("key-{}", Uuid::now_v7().simple());
    for k in [&key, &key, &other] {
        assert_eq!(
            ok!(store.attempt_throttled(k, policy, later)),
            Ok(()),
            "reset"
        );
    }
    let much_later = later + Duration::hours(2);
    for _ in 0..3 {
        assert_eq!(
            ok!(store.attempt_throttled(&key, policy, much_later)),
            Ok(()),
            "forgotten after a quiet while"
        );
    }
}
