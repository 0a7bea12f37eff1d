//! The storage layer's one error type.

/// What can go wrong in a store call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another organization).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (e.g. an email already registered).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A lease or version no longer matches: another worker owns the row now.
    #[error("stale: {0}")]
    Stale(String),
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is logged, never shown to clients.
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Self::Conflict(db.message().to_owned())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(e.to_string())
            }
            _ => Self::Other(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self::Other(format!("migration failed: {e}"))
    }
}
