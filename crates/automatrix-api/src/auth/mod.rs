//! Authentication: sign-up, login, refresh-token rotation with reuse detection, logout, me,
//! change-password, MFA (TOTP), sessions, and the [`AuthUser`] extractor that guards every
//! tenant route.

mod handlers;
mod mfa;
mod password;
mod sessions;
mod throttle;
mod tokens;

pub use handlers::router;
pub use throttle::{AuthLimiter, LoginLimits};
pub use tokens::AuthConfig;
pub(crate) use tokens::AuthUser;
