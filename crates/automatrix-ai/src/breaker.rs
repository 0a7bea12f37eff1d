//! Circuit breakers, one per (credential, model): after `threshold` consecutive retryable
//! failures the target is skipped for a cool-down; then one call is let through as a probe.
//! Its success closes the breaker, its failure opens it for another cool-down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// What a breaker says about the next call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Closed: call.
    Allow,
    /// Half-open: this call is the probe.
    Probe,
    /// Open: skip the target.
    Skip,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open_until: Option<Instant>,
}

/// The breakers of one gateway.
#[derive(Debug)]
pub struct Breakers {
    threshold: u32,
    cool_down: Duration,
    states: Mutex<HashMap<(Uuid, String), State>>,
}

impl Breakers {
    pub fn new(threshold: u32, cool_down: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            cool_down,
            states: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, String), State>> {
        // A panic while holding the lock leaves counters, not broken invariants.
        self.states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a call to the target may go ahead at `now`.
    pub fn admit(&self, credential: Uuid, model: &str, now: Instant) -> Admission {
        let mut states = self.lock();
        let Some(state) = states.get_mut(&(credential, model.to_owned())) else {
            return Admission::Allow;
        };
        match state.open_until {
            None => Admission::Allow,
            Some(until) if now < until => Admission::Skip,
            Some(_) => {
                // One probe per cool-down: a probe whose caller gave up (and so never reports)
                // cannot keep the target shut for good.
                state.open_until = Some(now + self.cool_down);
                Admission::Probe
            }
        }
    }

    /// The target answered (or refused the request, which proves it is up).
    pub fn succeeded(&self, credential: Uuid, model: &str) {
        self.lock().remove(&(credential, model.to_owned()));
    }

    /// The target failed in a way worth retrying; true when this opened the breaker.
    pub fn failed(&self, credential: Uuid, model: &str, now: Instant) -> bool {
        let mut states = self.lock();
        let state = states.entry((credential, model.to_owned())).or_default();
        state.consecutive_failures += 1;
        if state.consecutive_failures >= self.threshold {
            state.open_until = Some(now + self.cool_down);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_then_probes_after_the_cool_down() {
        let b = Breakers::new(3, Duration::from_secs(10));
        let (id, t0) = (Uuid::nil(), Instant::now());
        assert!(!b.failed(id, "m", t0));
        assert!(!b.failed(id, "m", t0));
        assert_eq!(b.admit(id, "m", t0), Admission::Allow);
        assert_eq!(b.admit(id, "other", t0), Admission::Allow);
        assert!(b.failed(id, "m", t0));
        assert_eq!(
            b.admit(id, "m", t0 + Duration::from_secs(9)),
            Admission::Skip
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(b.admit(id, "m", later), Admission::Probe);
        // Only one probe per cool-down.
        assert_eq!(b.admit(id, "m", later), Admission::Skip);
        // The probe fails: open again.
        assert!(b.failed(id, "m", later));
        assert_eq!(
            b.admit(id, "m", later + Duration::from_secs(5)),
            Admission::Skip
        );
        let again = later + Duration::from_secs(10);
        assert_eq!(b.admit(id, "m", again), Admission::Probe);
        b.succeeded(id, "m");
        assert_eq!(b.admit(id, "m", again), Admission::Allow);
        assert!(!b.failed(id, "m", again));
    }
}
