//! Storage contract of AutoMatrix: the store traits, the row models and [`StoreError`].
//!
//! Two implementations exist, `automatrix-store-sqlite` and `automatrix-store-postgres`, each
//! with its own migrations and connection setup around the one SQL implementation in [`sql`];
//! the binary picks one from the database URL and hands the rest of the system an
//! `Arc<dyn Store>`. Every method on tenant data takes the organization and
//! filters by it. The conformance suite in [`testing`] (feature `testing`) runs against both.

mod error;
mod events;
mod models;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;

pub use error::StoreError;
pub use events::{LiveEvents, QueueEvent, QueueEvents};
pub use models::*;
pub use traits::*;

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What the macros of [`sql`] name in the crates that expand them.
#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use {automatrix_core, chrono, serde_json, sqlx, uuid};
}
