//! Throwaway PostgreSQL databases for tests (feature `testing`).
//!
//! Tests against PostgreSQL run when `AUTOMATRIX_TEST_POSTGRES_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`, a role allowed to create databases); each
//! gets its own empty database `am_test_<uuid>`, dropped afterwards. Without the variable,
//! [`TempDatabase::create`] says the tests were skipped and returns `None`.

use automatrix_store::StoreError;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use uuid::Uuid;

/// The environment variable naming the server tests may create databases on.
pub const TEST_POSTGRES_URL_ENV: &str = "AUTOMATRIX_TEST_POSTGRES_URL";

/// A new, empty (not migrated) database that lives until [`drop_database`](Self::drop_database).
#[derive(Debug)]
pub struct TempDatabase {
    /// Connection URL of the new database.
    pub url: String,
    /// Its name, `am_test_<uuid>`.
    pub name: String,
    admin_url: String,
}

impl TempDatabase {
    /// Creates a fresh database on the server named by `AUTOMATRIX_TEST_POSTGRES_URL`, or
    /// prints that PostgreSQL tests are skipped and returns `None` when it is unset.
    ///
    /// # Panics
    /// When the variable is set but the database cannot be created: a configured server that
    /// does not work should fail the test, not skip it.
    pub async fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var(TEST_POSTGRES_URL_ENV) else {
            println!("PostgreSQL tests skipped: {TEST_POSTGRES_URL_ENV} is not set");
            return None;
        };
        match Self::create_on(&admin_url).await {
            Ok(db) => Some(db),
            Err(e) => panic!("cannot create a test database ({TEST_POSTGRES_URL_ENV}): {e}"),
        }
    }

    /// Creates a fresh database on the server at `admin_url`.
    pub async fn create_on(admin_url: &str) -> Result<Self, StoreError> {
        let name = format!("am_test_{}", Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(admin_url).await?;
        // The name is ours (a prefix and hex digits), not input: safe to splice, and database
        // names cannot be bound as parameters.
        admin
            .execute(AssertSqlSafe(format!("create database {name}")))
            .await?;
        admin.close().await?;
        Ok(Self {
            url: with_database(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// Drops the database, closing whatever connections are still open on it. Failures are
    /// reported on stderr rather than panicking, so they never hide the test's own result.
    pub async fn drop_database(self) {
        let dropped = async {
            let mut admin = PgConnection::connect(&self.admin_url).await?;
            let sql = format!("drop database if exists {} with (force)", self.name);
            admin.execute(AssertSqlSafe(sql)).await?;
            admin.close().await
        };
        if let Err(e) = dropped.await {
            eprintln!("warning: could not drop test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database (the path) replaced by `database`, keeping user, host and options.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Every node of an `explain (format json)` plan (`plan[0]["Plan"]`), depth first: what the
/// query-plan tests look through for scans, sorts and index names.
pub fn plan_nodes(plan: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = vec![plan];
    for child in plan["Plans"].as_array().into_iter().flatten() {
        out.extend(plan_nodes(child));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_swapped_and_everything_else_kept() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/db",
            ),
            (
                "postgres://u:p@h/postgres?sslmode=disable",
                "postgres://u:p@h/db?sslmode=disable",
            ),
            ("postgres://u@h:5432", "postgres://u@h:5432/db"),
            (
                "postgresql://h/?sslmode=require",
                "postgresql://h/db?sslmode=require",
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(with_database(url, "db"), expected, "{url}");
        }
    }
}
