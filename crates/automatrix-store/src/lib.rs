//! Storage contract of AutoMatrix: the store traits, the row models and [`StoreError`].
//!
//! Two implementations exist, `automatrix-store-sqlite` and `automatrix-store-postgres`, each
//! with its own migrations; the binary picks one from the database URL and hands the rest of
//! the system an `Arc<dyn Store>`. Every method on tenant data takes the organization and
//! filters by it. The conformance suite in [`testing`] (feature `testing`) runs against both.

mod error;
mod models;
#[cfg(feature = "testing")]
pub mod testing;
mod traits;

pub use error::StoreError;
pub use models::*;
pub use traits::*;

/// Result of every store call.
pub type StoreResult<T> = Result<T, StoreError>;
