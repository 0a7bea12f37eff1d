//! Authentication: sign-up, login, refresh-token rotation with reuse detection, logout, me,
//! change-password, MFA (TOTP), sessions and login rate limits. Who may call what is
//! [`crate::access`].

mod handlers;
mod mfa;
mod password;
mod sessions;
mod throttle;
mod tokens;

pub use handlers::router;
pub(crate) use handlers::{
    TokenResponse, check_password, issue_tokens, normalize_email, valid_email,
};
pub(crate) use password::hash as hash_password;
pub use throttle::{AuthLimiter, LoginLimits};
pub use tokens::AuthConfig;
