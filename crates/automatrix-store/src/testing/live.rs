//! Promises of [`LiveStore`](crate::LiveStore).

use std::time::Duration as StdDuration;

use automatrix_core::Role;
use chrono::Duration;
use futures::StreamExt;
use uuid::Uuid;

use super::fixtures::{new_tenant, now};
use crate::{NewWsTicket, Store};

pub async fn a_ws_ticket_is_redeemed_once_and_not_after_it_expires(store: &dyn Store) {
    let user = new_tenant(store).await;
    let ticket = |hash: &str, ttl: Duration| NewWsTicket {
        ticket_hash: hash.to_owned(),
        user_id: user.id,
        organization_id: user.organization_id,
        role: Role::Editor,
        api_key_id: None,
        expires_at: now() + ttl,
        now: now(),
    };
    let fresh = format!("fresh-{}", Uuid::now_v7());
    let stale = format!("stale-{}", Uuid::now_v7());
    ok!(store.create_ws_ticket(ticket(&fresh, Duration::seconds(30))));
    ok!(store.create_ws_ticket(ticket(&stale, Duration::seconds(-1))));

    let (a, b) = tokio::join!(
        store.redeem_ws_ticket(&fresh, now()),
        store.redeem_ws_ticket(&fresh, now())
    );
    let redeemed: Vec<_> = [a.expect("redeem a"), b.expect("redeem b")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(redeemed.len(), 1, "two sockets racing get one ticket");
    let got = &redeemed[0];
    assert_eq!(
        (got.user_id, got.organization_id, got.role, got.api_key_id),
        (user.id, user.organization_id, Role::Editor, None)
    );
    assert!(ok!(store.redeem_ws_ticket(&fresh, now())).is_none());
    assert!(
        ok!(store.redeem_ws_ticket(&stale, now())).is_none(),
        "an expired ticket lets nobody in"
    );
    assert!(ok!(store.redeem_ws_ticket("unknown", now())).is_none());
}

pub async fn live_events_reach_every_subscriber_where_processes_share_the_database(
    store: &dyn Store,
) {
    let subscribed = ok!(store.subscribe_live_events());
    assert_eq!(
        store.shares_live_events(),
        subscribed.is_some(),
        "a store shares live events exactly when it can be subscribed to"
    );
    let Some(mut events) = subscribed else {
        assert!(
            !ok!(store.publish_live_events("{}")),
            "a store without a channel sends nothing"
        );
        return;
    };
    let payload = format!("{{\"n\":\"{}\"}}", Uuid::now_v7());
    assert!(ok!(store.publish_live_events(&payload)));
    let got = tokio::time::timeout(StdDuration::from_secs(10), events.next())
        .await
        .expect("the event arrives")
        .expect("the stream goes on")
        .expect("no error");
    assert_eq!(got, payload);
}
