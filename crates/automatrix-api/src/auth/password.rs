//! argon2id password hashing, run off the async runtime (it is deliberately slow).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

pub(crate) async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches `stored`. With no stored hash (unknown user), or a marker of an
/// account without a password (`!…`, single sign-on), a dummy hash is checked anyway and the
/// answer is no, so the response time does not reveal which emails exist or how they sign in.
pub(crate) async fn verify(password: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let (stored, usable) = match stored {
            Some(s) if !s.starts_with('!') => (s, true),
            _ => (DUMMY.to_owned(), false),
        };
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| ApiError::Internal(format!("stored hash: {e}")))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(usable && matches)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verify task: {e}")))?
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$F0VZ0vjXmzMrnoU4a7qC5l5lBdT0iYQMvq2wq6k2Avc";
