//! The store conformance suite on PostgreSQL: every promise of `automatrix_store::testing`,
//! each on a fresh database. Runs when `AUTOMATRIX_TEST_POSTGRES_URL` is set (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`); otherwise each test says it was skipped.

use std::sync::Arc;

use automatrix_store::Store;
use automatrix_store::testing::StoreFixture;
use automatrix_store_postgres::PgStore;
use automatrix_store_postgres::testing::TempDatabase;

struct PgFixture {
    store: PgStore,
    database: TempDatabase,
}

impl StoreFixture for PgFixture {
    async fn create() -> Option<Self> {
        let database = TempDatabase::create().await?;
        let store = PgStore::open(&database.url)
            .await
            .expect("open the PostgreSQL store");
        Some(Self { store, database })
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn destroy(self) {
        self.store.close().await;
        self.database.drop_database().await;
    }
}

automatrix_store::conformance_tests!(PgFixture);
