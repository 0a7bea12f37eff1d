//! Login throttling: growing back-off after failed logins, by account (the normalized email,
//! known or not) and by client IP, and after wrong MFA codes, by user.
//!
//! Every attempt is counted before the password (or code) is checked and taken back when it
//! was right ([`FailureLimiter::attempt`]), so concurrent guesses are counted in full. A
//! locked-out attempt is refused (429, `Retry-After`) before anything is looked up, the same
//! way for an existing and an unknown email.
//!
//! The counts live in this process, or, with `AUTOMATRIX_LOGIN_LIMITS_SHARED=1`
//! ([`ApiConfig::shared_login_limits`](crate::ApiConfig)), in the database (`auth_throttle`,
//! keys hashed), so that every API process sees the same counts at the cost of a write
//! transaction per attempt.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use automatrix_engine::token_hash;
use automatrix_store::Store;
use chrono::Utc;
use uuid::Uuid;

use crate::error::ApiError;
use crate::limits::{Backoff, FailureLimiter, retry_after};

/// The back-off policies of [`AuthLimiter`].
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Failed logins per account (normalized email, registered or not).
    pub account: Backoff,
    /// Failed logins and MFA verifications per client IP (IPv6: per /64). More failures are
    /// free than per account: one office shares an address.
    pub ip: Backoff,
    /// Wrong MFA codes per user (login's second step and disabling MFA).
    pub mfa: Backoff,
}

impl Default for LoginLimits {
    fn default() -> Self {
        let backoff = |free| Backoff {
            free,
            base: Duration::from_secs(30),
            max: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(60 * 60),
        };
        Self {
            account: backoff(5),
            ip: backoff(20),
            mfa: backoff(5),
        }
    }
}

/// The counts of failed logins and MFA codes: in this process, or (shared mode) in the
/// database, where every API process sees the same counts.
pub struct AuthLimiter {
    limits: LoginLimits,
    accounts: FailureLimiter<String>,
    ips: FailureLimiter<IpAddr>,
    mfa: FailureLimiter<Uuid>,
    shared: Option<Arc<dyn Store>>,
}

/// What is counted.
enum Key<'a> {
    Account(&'a str),
    Ip(IpAddr),
    Mfa(Uuid),
}

impl Key<'_> {
    /// The shared mode's key: hashed, so the table holds no email or address.
    fn hashed(&self) -> String {
        token_hash(&match self {
            Self::Account(email) => format!("account:{email}"),
            Self::Ip(ip) => format!("ip:{ip}"),
            Self::Mfa(user) => format!("mfa:{user}"),
        })
    }
}

impl AuthLimiter {
    /// Counts in this process.
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            limits,
            accounts: FailureLimiter::new(limits.account),
            ips: FailureLimiter::new(limits.ip),
            mfa: FailureLimiter::new(limits.mfa),
            shared: None,
        }
    }

    /// Counts in `store`'s database, shared by every process using it.
    pub fn shared(limits: LoginLimits, store: Arc<dyn Store>) -> Self {
        Self {
            shared: Some(store),
            ..Self::new(limits)
        }
    }

    fn policy(&self, key: &Key<'_>) -> Backoff {
        match key {
            Key::Account(_) => self.limits.account,
            Key::Ip(_) => self.limits.ip,
            Key::Mfa(_) => self.limits.mfa,
        }
    }

    async fn attempt(&self, key: Key<'_>) -> Result<(), ApiError> {
        if let Some(store) = &self.shared {
            let now = Utc::now();
            return match store
                .attempt_throttled(&key.hashed(), self.policy(&key), now)
                .await?
            {
                Ok(()) => Ok(()),
                Err(until) => Err(retry_after((until - now).to_std().unwrap_or_default())),
            };
        }
        let now = Instant::now();
        match key {
            Key::Account(email) => self.accounts.attempt(email.to_owned(), now),
            Key::Ip(ip) => self.ips.attempt(ip, now),
            Key::Mfa(user) => self.mfa.attempt(user, now),
        }
        .map_err(retry_after)
    }

    async fn forgive(&self, key: Key<'_>) -> Result<(), ApiError> {
        if let Some(store) = &self.shared {
            return Ok(store.forgive_throttled(&key.hashed(), Utc::now()).await?);
        }
        let now = Instant::now();
        match key {
            Key::Account(email) => self.accounts.forgive(&email.to_owned(), now),
            Key::Ip(ip) => self.ips.forgive(&ip, now),
            Key::Mfa(user) => self.mfa.forgive(&user, now),
        }
        Ok(())
    }

    async fn reset(&self, key: Key<'_>) -> Result<(), ApiError> {
        if let Some(store) = &self.shared {
            return Ok(store.reset_throttled(&key.hashed()).await?);
        }
        match key {
            Key::Account(email) => self.accounts.succeed(&email.to_owned()),
            Key::Ip(ip) => self.ips.succeed(&ip),
            Key::Mfa(user) => self.mfa.succeed(&user),
        }
        Ok(())
    }

    /// A login attempt for `email` (normalized) from `ip`: 429 while either is locked out.
    pub(crate) async fn login_attempt(
        &self,
        email: &str,
        ip: IpAddr,
    ) -> Result<LoginAttempt<'_>, ApiError> {
        self.attempt(Key::Ip(ip)).await?;
        if let Err(e) = self.attempt(Key::Account(email)).await {
            self.forgive(Key::Ip(ip)).await?;
            return Err(e);
        }
        Ok(LoginAttempt {
            limiter: self,
            email: email.to_owned(),
            ip,
        })
    }

    /// An MFA verification from `ip`, before its user is known: 429 while the IP is locked
    /// out.
    pub(crate) async fn ip_attempt(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.attempt(Key::Ip(ip)).await
    }

    /// The verification from `ip` went well.
    pub(crate) async fn ip_succeeded(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.forgive(Key::Ip(ip)).await
    }

    /// A code for `user`'s second factor: 429 while the user is locked out.
    pub(crate) async fn mfa_attempt(&self, user: Uuid) -> Result<(), ApiError> {
        self.attempt(Key::Mfa(user)).await
    }

    /// The code was right: the user's wrong codes are forgotten.
    pub(crate) async fn mfa_succeeded(&self, user: Uuid) -> Result<(), ApiError> {
        self.reset(Key::Mfa(user)).await
    }
}

/// A counted login attempt; [`succeeded`](Self::succeeded) takes it back. Dropped without
/// that, it stays a failure.
pub(crate) struct LoginAttempt<'a> {
    limiter: &'a AuthLimiter,
    email: String,
    ip: IpAddr,
}

impl LoginAttempt<'_> {
    /// The password was right: the account's failures are forgotten, and this attempt does
    /// not count against the IP (its other failures do).
    pub(crate) async fn succeeded(self) -> Result<(), ApiError> {
        self.limiter.reset(Key::Account(&self.email)).await?;
        self.limiter.forgive(Key::Ip(self.ip)).await
    }
}
