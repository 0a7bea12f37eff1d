//! Row models (`<Thing>`) and insert models (`New<Thing>`). Rows derive `sqlx::FromRow` and
//! decode the same on SQLite and PostgreSQL: ids are UUIDs, timestamps UTC, JSON as `Json`.

mod audit;
mod identity;
mod metrics;
mod resources;
mod workflows;

pub use audit::*;
pub use identity::*;
pub use metrics::*;
pub use resources::*;
pub use workflows::*;
