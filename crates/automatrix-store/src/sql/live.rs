//! [`LiveStore`](crate::LiveStore): one-use WebSocket tickets and the live events every API
//! process hears.

/// Implements [`LiveStore`](crate::LiveStore) for `$store`; part of
/// [`impl_sql_store!`](crate::impl_sql_store).
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_live_store {
    ($store:ty) => {
        const _: () = {
            use $crate::__private::async_trait;
            use $crate::__private::chrono::{DateTime, Utc};
            use $crate::__private::sqlx;
            use $crate::sql::{CommitWrite as _, Dialect};
            use $crate::{LiveEvents, LiveStore, NewWsTicket, StoreResult, WsTicket};

            #[async_trait]
            impl LiveStore for $store {
                async fn create_ws_ticket(&self, new: NewWsTicket) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    // Tickets nobody redeemed go as new ones are issued.
                    sqlx::query("delete from ws_tickets where expires_at < $1")
                        .bind(new.now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "insert into ws_tickets (ticket_hash, user_id, organization_id, role, \
                             api_key_id, expires_at, created_at) \
                         values ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&new.ticket_hash)
                    .bind(new.user_id)
                    .bind(new.organization_id)
                    .bind(new.role.as_str())
                    .bind(new.api_key_id)
                    .bind(new.expires_at)
                    .bind(new.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn redeem_ws_ticket(
                    &self,
                    ticket_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<WsTicket>> {
                    // Deleting is redeeming: of two sockets opened with one ticket, one gets
                    // the row. Expired tickets redeem nothing (and go with the next issue).
                    Ok(sqlx::query_as::<_, WsTicket>(
                        "delete from ws_tickets where ticket_hash = $1 and expires_at > $2 \
                         returning user_id, organization_id, role, api_key_id",
                    )
                    .bind(ticket_hash)
                    .bind(now)
                    .fetch_optional(&mut *self.writer().await?)
                    .await?)
                }

                fn shares_live_events(&self) -> bool {
                    <$store as Dialect>::NOTIFY_LIVE.is_some()
                }

                async fn publish_live_events(&self, payload: &str) -> StoreResult<bool> {
                    let Some(sql) = <$store as Dialect>::NOTIFY_LIVE else {
                        return Ok(false);
                    };
                    sqlx::query(sql)
                        .bind(payload)
                        .execute(Dialect::pool(self))
                        .await?;
                    Ok(true)
                }

                async fn subscribe_live_events(&self) -> StoreResult<Option<LiveEvents>> {
                    self.listen_for_live_events().await
                }
            }
        };
    };
}
