//! Per-webhook rate limits: a token bucket per workflow, in this process (each `serve`
//! process enforces the limit on the calls it receives).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// `requests` calls per `per_seconds`, in bursts of up to `requests`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize)]
pub(crate) struct RateLimit {
    pub(crate) requests: u32,
    pub(crate) per_seconds: u32,
}

struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

/// The buckets of every webhook called in this process.
#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<Uuid, Bucket>>,
}

impl RateLimits {
    /// Takes one call from the webhook's bucket; when it is empty, how long until it is not.
    pub(crate) fn take(
        &self,
        webhook: Uuid,
        limit: RateLimit,
        now: Instant,
    ) -> Result<(), Duration> {
        let rate = f64::from(limit.requests) / f64::from(limit.per_seconds.max(1));
        let capacity = f64::from(limit.requests.max(1));
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(webhook).or_insert(Bucket {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_the_limit_passes_then_calls_wait_for_the_refill() {
        let limits = RateLimits::default();
        let (hook, t) = (Uuid::now_v7(), Instant::now());
        let limit = RateLimit {
            requests: 3,
            per_seconds: 6,
        };
        for _ in 0..3 {
            assert!(limits.take(hook, limit, t).is_ok());
        }
        let wait = limits
            .take(hook, limit, t)
            .expect_err("the bucket is empty");
        assert_eq!(wait, Duration::from_secs(2), "one call per 2 s");
        assert!(limits.take(hook, limit, t + Duration::from_secs(2)).is_ok());
        assert!(limits.take(Uuid::now_v7(), limit, t).is_ok(), "per webhook");
    }

    #[test]
    fn a_changed_limit_starts_a_full_bucket() {
        let limits = RateLimits::default();
        let (hook, t) = (Uuid::now_v7(), Instant::now());
        let one = RateLimit {
            requests: 1,
            per_seconds: 60,
        };
        assert!(limits.take(hook, one, t).is_ok());
        assert!(limits.take(hook, one, t).is_err());
        let two = RateLimit {
            requests: 2,
            per_seconds: 60,
        };
        assert!(limits.take(hook, two, t).is_ok());
    }
}
