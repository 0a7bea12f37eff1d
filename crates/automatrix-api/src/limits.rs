//! In-process rate limits, keyed by anything hashable: [`TokenBuckets`] for steady request
//! rates (a webhook's `rate_limit`; per API key or user), and [`FailureLimiter`] for growing
//! back-off after repeated failures (logins, MFA codes).
//!
//! Both count in this process's memory: with several API processes, each counts the requests
//! it receives (see `docs/security-auth.md` for what that means and how to deploy; the login
//! limits can count in the database instead, through the store's `ThrottleStore`, with the
//! same [`Backoff`]). A refusal
//! is a wait ([`Duration`]); [`retry_after`] turns it into the whole seconds of `Retry-After`
//! and [`ApiError::RateLimited`](crate::ApiError) is the 429.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// The 429 for a refusal to wait `wait` (whole seconds, rounded up, at least 1).
pub(crate) fn retry_after(wait: Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
    }
}

/// How many entries a limiter keeps before it forgets idle ones (at most one sweep per this
/// many new keys, so a flood of keys costs amortized O(1) per request).
const SWEEP_AT: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves counts that are still counts.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `requests` calls per `per_seconds`, in bursts of up to `requests`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

/// A token bucket per key.
pub struct TokenBuckets<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K> Default for TokenBuckets<K> {
    fn default() -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> TokenBuckets<K> {
    /// Takes one call from `key`'s bucket; when it is empty, how long until it is not.
    pub(crate) fn take(&self, key: K, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(limit.requests) / f64::from(limit.per_seconds.max(1));
        let capacity = f64::from(limit.requests.max(1));
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= SWEEP_AT && !buckets.contains_key(&key) {
            // A full bucket is the same as no bucket: forget those.
            buckets.retain(|_, b| {
                let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
                b.tokens
                    + elapsed * f64::from(b.limit.requests) / f64::from(b.limit.per_seconds.max(1))
                    < f64::from(b.limit.requests.max(1))
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            limit,
            tokens: capacity,
            at: now,
        });
        if bucket.limit != limit {
            // The limit changed: start afresh with the new one.
            *bucket = Bucket {
                limit,
                tokens: capacity,
                at: now,
            };
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
    }
}

pub use automatrix_store::Backoff;

struct Failures {
    count: u32,
    last: Instant,
    locked_until: Instant,
}

/// Failures in a row per key, and the lockouts they earn ([`Backoff`]).
pub struct FailureLimiter<K> {
    policy: Backoff,
    entries: Mutex<HashMap<K, Failures>>,
}

impl<K: Hash + Eq> FailureLimiter<K> {
    pub(crate) fn new(policy: Backoff) -> Self {
        Self {
            policy,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// An attempt of `key`: `Err(wait)` while `key` is locked out; otherwise the attempt is
    /// counted as a failure, and may lock the key, before the caller knows how it went. So a
    /// burst of concurrent attempts is counted in full, each under one lock; the caller then
    /// calls [`succeed`](Self::succeed) or [`forgive`](Self::forgive) when it went well.
    pub(crate) fn attempt(&self, key: K, now: Instant) -> Result<(), Duration> {
        let policy = self.policy;
        let mut entries = lock(&self.entries);
        if entries.len() >= SWEEP_AT && !entries.contains_key(&key) {
            entries.retain(|_, f| {
                f.locked_until > now || now.saturating_duration_since(f.last) < policy.forget_after
            });
        }
        let f = entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: now,
        });
        if f.locked_until > now {
            return Err(f.locked_until - now);
        }
        if now.saturating_duration_since(f.last) >= policy.forget_after {
            f.count = 0;
        }
        f.count = f.count.saturating_add(1);
        f.last = now;
        f.locked_until = now + policy.lockout(f.count);
        Ok(())
    }

    /// Takes back one attempt of `key` that went well, without forgetting its other failures
    /// (a client IP's successful login does not wipe the failures it sprayed at other
    /// accounts); the key is not locked by it.
    pub(crate) fn forgive(&self, key: &K, now: Instant) {
        if let Some(f) = lock(&self.entries).get_mut(key) {
            f.count = f.count.saturating_sub(1);
            f.locked_until = f.locked_until.min(now);
        }
    }

    /// Forgets `key`'s failures.
    pub(crate) fn succeed(&self, key: &K) {
        lock(&self.entries).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_passes_then_calls_wait_for_the_refill() {
        let limits = TokenBuckets::default();
        let t = Instant::now();
        let limit = RateLimit {
            requests: 3,
            per_seconds: 6,
        };
        for _ in 0..3 {
            assert!(limits.take("hook", limit, t).is_ok());
        }
        let wait = limits
            .take("hook", limit, t)
            .expect_err("the bucket is empty");
        assert_eq!(wait, Duration::from_secs(2), "one call per 2 s");
        assert!(
            limits
                .take("hook", limit, t + Duration::from_secs(2))
                .is_ok()
        );
        assert!(limits.take("other", limit, t).is_ok(), "per key");
    }

    #[test]
    fn a_changed_limit_starts_a_full_bucket() {
        let limits = TokenBuckets::default();
        let t = Instant::now();
        let one = RateLimit {
            requests: 1,
            per_seconds: 60,
        };
        assert!(limits.take(1, one, t).is_ok());
        assert!(limits.take(1, one, t).is_err());
        let two = RateLimit {
            requests: 2,
            per_seconds: 60,
        };
        assert!(limits.take(1, two, t).is_ok());
    }

    const POLICY: Backoff = Backoff {
        free: 3,
        base: Duration::from_secs(10),
        max: Duration::from_secs(60),
        forget_after: Duration::from_secs(3600),
    };

    #[test]
    fn lockouts_double_after_the_free_failures_up_to_the_cap() {
        let lockouts: Vec<u64> = (1..=8).map(|n| POLICY.lockout(n).as_secs()).collect();
        assert_eq!(lockouts, vec![0, 0, 10, 20, 40, 60, 60, 60]);
        assert_eq!(POLICY.lockout(u32::MAX), POLICY.max, "no overflow");
    }

    #[test]
    fn a_key_is_locked_after_its_free_failures_and_a_success_resets_it() {
        let limiter = FailureLimiter::new(POLICY);
        let t = Instant::now();
        assert!(limiter.attempt("a", t).is_ok());
        assert!(limiter.attempt("a", t).is_ok());
        assert!(
            limiter.attempt("a", t).is_ok(),
            "the third attempt is made, and locks"
        );
        assert_eq!(limiter.attempt("a", t), Err(Duration::from_secs(10)));
        assert!(limiter.attempt("b", t).is_ok(), "per key");
        let later = t + Duration::from_secs(10);
        assert!(limiter.attempt("a", later).is_ok(), "the lockout ends");
        assert_eq!(
            limiter.attempt("a", later),
            Err(Duration::from_secs(20)),
            "and doubles"
        );
        limiter.succeed(&"a");
        for _ in 0..3 {
            assert!(limiter.attempt("a", later).is_ok(), "counting starts over");
        }
    }

    #[test]
    fn a_forgiven_attempt_does_not_count() {
        let limiter = FailureLimiter::new(POLICY);
        let t = Instant::now();
        for _ in 0..10 {
            assert!(limiter.attempt("ip", t).is_ok());
            limiter.forgive(&"ip", t);
        }
        assert!(limiter.attempt("ip", t).is_ok());
        assert!(limiter.attempt("ip", t).is_ok());
        limiter.forgive(&"ip", t);
        assert!(limiter.attempt("ip", t).is_ok(), "a second failure");
        assert!(limiter.attempt("ip", t).is_ok(), "a third, which locks");
        assert!(limiter.attempt("ip", t).is_err());
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_while() {
        let limiter = FailureLimiter::new(POLICY);
        let t = Instant::now();
        for _ in 0..2 {
            assert!(limiter.attempt("a", t).is_ok());
        }
        let much_later = t + POLICY.forget_after;
        for _ in 0..3 {
            assert!(limiter.attempt("a", much_later).is_ok());
        }
    }
}
