//! Authentication: sign-up, login, refresh-token rotation with reuse detection, logout, me,
//! change-password, and the [`AuthUser`] extractor that guards every tenant route.

mod handlers;
mod password;
mod tokens;

pub use handlers::router;
pub use tokens::AuthConfig;
pub(crate) use tokens::AuthUser;
