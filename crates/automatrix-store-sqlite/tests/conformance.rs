//! The store conformance suite on SQLite: every promise of `automatrix_store::testing`, each on
//! a fresh database file in its own temporary directory.

use std::sync::Arc;

use automatrix_store::Store;
use automatrix_store::testing::StoreFixture;
use automatrix_store_sqlite::SqliteStore;

struct SqliteFixture {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl StoreFixture for SqliteFixture {
    async fn create() -> Option<Self> {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("automatrix.db").display());
        let store = SqliteStore::open(&url)
            .await
            .expect("open the SQLite store");
        Some(Self { store, _dir: dir })
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    async fn destroy(self) {
        self.store.close().await;
    }
}

automatrix_store::conformance_tests!(SqliteFixture);

/// `sqlite::memory:` (used by `automatrix run`) keeps every promise too, on its one connection.
#[tokio::test]
async fn all_promises_hold_on_an_in_memory_database() {
    let store = SqliteStore::open("sqlite::memory:")
        .await
        .expect("open in memory");
    automatrix_store::testing::run_all(Arc::new(store)).await;
}
