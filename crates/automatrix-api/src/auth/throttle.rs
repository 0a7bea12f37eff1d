//! Login throttling: growing back-off after failed logins, by account (the normalized email,
//! known or not) and by client IP, and after wrong MFA codes, by user.
//!
//! Every attempt is counted before the password (or code) is checked and taken back when it
//! was right ([`FailureLimiter::attempt`]), so concurrent guesses are counted in full. A
//! locked-out attempt is refused (429, `Retry-After`) before anything is looked up, the same
//! way for an existing and an unknown email.

use std::net::IpAddr;
use std::time::{Duration, Instant};

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

/// This process's counts of failed logins and MFA codes.
pub struct AuthLimiter {
    accounts: FailureLimiter<String>,
    ips: FailureLimiter<IpAddr>,
    mfa: FailureLimiter<Uuid>,
}

impl AuthLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            accounts: FailureLimiter::new(limits.account),
            ips: FailureLimiter::new(limits.ip),
            mfa: FailureLimiter::new(limits.mfa),
        }
    }

    /// A login attempt for `email` (normalized) from `ip`: 429 while either is locked out.
    pub(crate) fn login_attempt(
        &self,
        email: &str,
        ip: IpAddr,
    ) -> Result<LoginAttempt<'_>, ApiError> {
        let now = Instant::now();
        self.ips.attempt(ip, now).map_err(retry_after)?;
        if let Err(wait) = self.accounts.attempt(email.to_owned(), now) {
            self.ips.forgive(&ip, now);
            return Err(retry_after(wait));
        }
        Ok(LoginAttempt {
            limiter: self,
            email: email.to_owned(),
            ip,
        })
    }

    /// An MFA verification from `ip`, before its user is known: 429 while the IP is locked out.
    pub(crate) fn ip_attempt(&self, ip: IpAddr) -> Result<(), ApiError> {
        self.ips.attempt(ip, Instant::now()).map_err(retry_after)
    }

    /// The verification from `ip` went well.
    pub(crate) fn ip_succeeded(&self, ip: IpAddr) {
        self.ips.forgive(&ip, Instant::now());
    }

    /// A code for `user`'s second factor: 429 while the user is locked out.
    pub(crate) fn mfa_attempt(&self, user: Uuid) -> Result<(), ApiError> {
        self.mfa.attempt(user, Instant::now()).map_err(retry_after)
    }

    /// The code was right: the user's wrong codes are forgotten.
    pub(crate) fn mfa_succeeded(&self, user: Uuid) {
        self.mfa.succeed(&user);
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
    pub(crate) fn succeeded(self) {
        self.limiter.accounts.succeed(&self.email);
        self.limiter.ips.forgive(&self.ip, Instant::now());
    }
}
