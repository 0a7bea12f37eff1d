//! Multi-factor authentication with TOTP ([`crate::totp`]): setting a secret up, enabling it
//! with a first code (which hands out single-use recovery codes), checking a second factor
//! at login, and turning it off.
//!
//! The secret is stored sealed by the [`Vault`](crate::Vault) (its own associated data per
//! user); recovery codes as SHA-256 of their normalized form (80 random bits each, so a fast
//! hash is enough, as for tokens). A time step is accepted once per user, whatever the code's
//! path (login or disabling), so a code seen once cannot be replayed.

use chrono::{DateTime, Utc};
use rand::Rng;
use uuid::Uuid;

use automatrix_store::StoreError;

use crate::tokens::token_hash;
use crate::totp;
use crate::{Engine, EngineError};

/// The issuer authenticator apps show.
pub const MFA_ISSUER: &str = "AutoMatrix";
/// How many recovery codes enabling MFA hands out.
pub const RECOVERY_CODES: usize = 10;

/// A new (pending) TOTP secret: base32 and as an `otpauth://` URL for a QR code.
#[derive(Clone)]
pub struct MfaSetup {
    pub secret: String,
    pub otpauth_url: String,
}

impl std::fmt::Debug for MfaSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaSetup(<secret redacted>)")
    }
}

/// What proves the second factor.
#[derive(Clone, Copy, Debug)]
pub enum SecondFactor<'a> {
    /// A six-digit TOTP code.
    Code(&'a str),
    /// One of the recovery codes.
    RecoveryCode(&'a str),
}

/// The outcome of [`Engine::enable_mfa`].
#[derive(Debug)]
pub enum MfaEnabling {
    /// Enabled; the recovery codes, shown this once.
    Enabled(Vec<String>),
    /// The code is not the pending secret's (now, or 30 s either side).
    WrongCode,
    /// There is no pending secret (no setup, or MFA is enabled already).
    NotSetUp,
}

impl Engine {
    /// Makes a new pending secret for the user (replacing a pending one). `Conflict` when
    /// MFA is enabled: it must be disabled first.
    pub async fn begin_mfa_setup(
        &self,
        user_id: Uuid,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<MfaSetup, EngineError> {
        let mut raw = [0u8; totp::SECRET_LEN];
        rand::rng().fill(&mut raw[..]);
        let sealed = self.vault.seal_mfa_secret(user_id, &raw);
        if !self
            .store()
            .put_pending_mfa_secret(user_id, &sealed, now)
            .await?
        {
            return Err(EngineError::Conflict(
                "MFA is already enabled; disable it first".into(),
            ));
        }
        let secret = totp::base32_encode(&raw);
        let otpauth_url = format!(
            "otpauth://totp/{MFA_ISSUER}:{}?secret={secret}&issuer={MFA_ISSUER}",
            percent_encode(email)
        );
        Ok(MfaSetup {
            secret,
            otpauth_url,
        })
    }

    /// Enables MFA when `code` is the pending secret's current code.
    pub async fn enable_mfa(
        &self,
        user_id: Uuid,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<MfaEnabling, EngineError> {
        let Some(mfa) = self.store().get_user_mfa(user_id).await? else {
            return Ok(MfaEnabling::NotSetUp);
        };
        if mfa.enabled_at.is_some() {
            return Ok(MfaEnabling::NotSetUp);
        }
        let secret = self.open_secret(user_id, &mfa.secret_sealed)?;
        let Some(step) = totp::matching_step(&secret, code, now.timestamp()) else {
            return Ok(MfaEnabling::WrongCode);
        };
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_hash(c)).collect();
        if !self
            .store()
            .enable_mfa(user_id, &mfa.secret_sealed, step, &hashes, now)
            .await?
        {
            // Another setup replaced the secret, or another request enabled it, meanwhile.
            return Ok(MfaEnabling::NotSetUp);
        }
        Ok(MfaEnabling::Enabled(codes))
    }

    /// Whether `factor` proves the user's second factor now. A TOTP code's time step, and a
    /// recovery code, are accepted once: true at most once for each.
    pub async fn check_second_factor(
        &self,
        user_id: Uuid,
        factor: SecondFactor<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        match factor {
            SecondFactor::Code(code) => {
                let Some(mfa) = self.store().get_user_mfa(user_id).await? else {
                    return Ok(false);
                };
                if mfa.enabled_at.is_none() {
                    return Ok(false);
                }
                let secret = self.open_secret(user_id, &mfa.secret_sealed)?;
                match totp::matching_step(&secret, code, now.timestamp()) {
                    Some(step) => Ok(self.store().accept_totp_step(user_id, step, now).await?),
                    None => Ok(false),
                }
            }
            SecondFactor::RecoveryCode(code) => Ok(self
                .store()
                .spend_recovery_code(user_id, &recovery_hash(code), now)
                .await?),
        }
    }

    /// Turns MFA off when `factor` proves the second factor; false (nothing changed)
    /// otherwise.
    pub async fn disable_mfa(
        &self,
        user_id: Uuid,
        factor: SecondFactor<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, EngineError> {
        if !self.check_second_factor(user_id, factor, now).await? {
            return Ok(false);
        }
        self.store().disable_mfa(user_id, now).await?;
        Ok(true)
    }

    fn open_secret(&self, user_id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, EngineError> {
        self.vault.open_mfa_secret(user_id, sealed).map_err(|e| {
            EngineError::Store(StoreError::Other(format!(
                "the MFA secret of user {user_id}: {e}"
            )))
        })
    }
}

/// 16 characters of base32 (80 random bits), shown as `xxxx-xxxx-xxxx-xxxx`.
fn recovery_code() -> String {
    let mut raw = [0u8; 10];
    rand::rng().fill(&mut raw[..]);
    let plain = totp::base32_encode(&raw).to_lowercase();
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
        .collect::<Vec<_>>()
        .join("-")
}

/// The hash of a recovery code as typed: case, dashes and spaces do not matter.
fn recovery_hash(code: &str) -> String {
    let normalized: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    token_hash(&normalized)
}

/// Percent-encodes all but RFC 3986's unreserved characters (for the URL's label).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_code_is_grouped_and_matches_however_typed() {
        let code = recovery_code();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        let typed = format!(" {} ", code.replace('-', "").to_uppercase());
        assert_eq!(recovery_hash(&typed), recovery_hash(&code));
        assert_ne!(recovery_hash(&code), recovery_hash(&recovery_code()));
    }

    #[test]
    fn the_label_is_percent_encoded() {
        assert_eq!(percent_encode("a.b+c@x.io"), "a.b%2Bc%40x.io");
    }
}
