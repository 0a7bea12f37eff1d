//! The gateway: one per process. It calls a route's targets with retries, fallback, weighted
//! drawing and circuit breakers, and returns the answer (whole or streamed) with what it cost
//! and every attempt.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use automatrix_core::ai::{Route, Strategy};
use automatrix_core::services::Credential;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Serialize, Serializer};
use tracing::{debug, instrument, warn};
use uuid::Uuid;

use crate::breaker::{Admission, Breakers};
use crate::mock::{MOCK, MockProvider};
use crate::provider::{ChatRequest, Prompt, Provider, ProviderError};
use crate::provider_for;
use crate::stream::{StreamingAnswer, answer_events, with_idle_timeout};

/// How the gateway retries, waits and breaks circuits.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The longest one provider call may take.
    pub timeout: Duration,
    /// Retries of one target before the next (on 429, 5xx and connection errors).
    pub retries_per_target: u32,
    /// The first backoff; it doubles per retry, with jitter (50 to 100 %).
    pub backoff_base: Duration,
    /// The longest backoff.
    pub backoff_max: Duration,
    /// The longest `Retry-After` the gateway waits for; a longer one moves to the next target.
    pub retry_after_cap: Duration,
    /// Consecutive retryable failures that open a target's breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker skips its target before a probe.
    pub breaker_cool_down: Duration,
    /// Seeds the generator for weighted draws and jitter (tests); random when `None`.
    pub seed: Option<u64>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            retries_per_target: 2,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(5),
            retry_after_cap: Duration::from_secs(10),
            breaker_threshold: 3,
            breaker_cool_down: Duration::from_secs(30),
            seed: None,
        }
    }
}

/// Why a credential could not be had (not found, not readable); never holds its secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CredentialUnavailable(pub String);

/// Where the gateway gets a target's credential (the engine: the organization's vault).
#[async_trait]
pub trait CredentialSource: Send + Sync {
    async fn credential(&self, id: Uuid) -> Result<Credential, CredentialUnavailable>;
}

#[async_trait]
impl CredentialSource for HashMap<Uuid, Credential> {
    async fn credential(&self, id: Uuid) -> Result<Credential, CredentialUnavailable> {
        self.get(&id)
            .cloned()
            .ok_or_else(|| CredentialUnavailable(format!("credential {id} not found")))
    }
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Answered,
    Failed(ProviderError),
    /// Skipped: the target's breaker is open.
    CircuitOpen,
    /// Skipped: the credential is missing or not an AI provider.
    Unavailable(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered => f.write_str("answered"),
            Self::Failed(e) => write!(f, "{e}"),
            Self::CircuitOpen => f.write_str("skipped, circuit open"),
            Self::Unavailable(why) => write!(f, "skipped, {why}"),
        }
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One call (or skip) of one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// The target's index in the route.
    pub target_index: usize,
    pub model: String,
    pub outcome: Outcome,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "target {} ({}): {}",
            self.target_index, self.model, self.outcome
        )
    }
}

/// A route's answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub text: String,
    /// The credential type that answered (`openai`, ..., or `mock`).
    pub provider: String,
    pub model: String,
    /// The target that answered (the variant of a weighted route).
    pub target_index: usize,
    /// Every attempt, in order, the answering one last.
    pub attempts: Vec<Attempt>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// By the answering target's prices.
    pub cost_usd: f64,
    /// From the call to the answer, retries and waits included.
    pub latency_ms: u64,
    pub finish_reason: Option<String>,
}

/// One call of one provider (a whole answer or a stream), as `async_trait` methods return it.
type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, ProviderError>> + Send + 'a>>;

/// What the first target to succeed gave, and how it came to.
struct Success<T> {
    value: T,
    index: usize,
    /// Its credential type.
    provider: &'static str,
    /// Every attempt, the successful one last.
    attempts: Vec<Attempt>,
    started: Instant,
}

/// The attempts of a mock answer: target 0, answered.
fn mock_attempts() -> Vec<Attempt> {
    vec![Attempt {
        target_index: 0,
        model: MOCK.into(),
        outcome: Outcome::Answered,
    }]
}

/// Why a route gave no answer. Messages name every attempt and never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AiError {
    #[error("the AI route has no targets")]
    NoTargets,
    /// A credential is not a usable AI provider.
    #[error("{0}")]
    Credential(String),
    /// The HTTP client could not be built.
    #[error("AI gateway setup failed: {0}")]
    Setup(String),
    /// Every target failed or was skipped, or one rejected the request.
    #[error("AI call failed: {}", list(.attempts))]
    Failed { attempts: Vec<Attempt> },
}

fn list(attempts: &[Attempt]) -> String {
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl AiError {
    /// The 4xx that stopped the call, if one did: a proxy passes it on to its client.
    pub fn rejection(&self) -> Option<(u16, &str)> {
        let Self::Failed { attempts } = self else {
            return None;
        };
        attempts.iter().rev().find_map(|a| match &a.outcome {
            Outcome::Failed(ProviderError::Rejected { status, message }) => {
                Some((*status, message.as_str()))
            }
            _ => None,
        })
    }
}

/// Calls AI routes. Holds the HTTP client, the breakers and the random generator.
pub struct Gateway {
    client: reqwest::Client,
    config: GatewayConfig,
    breakers: Breakers,
    rng: Mutex<StdRng>,
}

impl Gateway {
    /// A gateway with its own HTTP client ([`http_client`]).
    pub fn new(config: GatewayConfig) -> Result<Self, AiError> {
        Ok(Self::with_client(config, http_client()?))
    }

    /// A gateway on a given client.
    pub fn with_client(config: GatewayConfig, client: reqwest::Client) -> Self {
        let rng = config
            .seed
            .map_or_else(StdRng::from_os_rng, StdRng::seed_from_u64);
        Self {
            breakers: Breakers::new(config.breaker_threshold, config.breaker_cool_down),
            client,
            config,
            rng: Mutex::new(rng),
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The answer of the built-in mock: what the route `default` gives when an organization
    /// has configured none. Free, instant, and labelled `mock` as provider and model.
    pub fn call_mock(&self, prompt: &Prompt) -> Answer {
        let a = MockProvider::answer(&prompt.for_model(MOCK));
        Answer {
            text: a.text,
            provider: MOCK.into(),
            model: MOCK.into(),
            target_index: 0,
            attempts: mock_attempts(),
            input_tokens: a.input_tokens,
            output_tokens: a.output_tokens,
            cost_usd: 0.0,
            latency_ms: 0,
            finish_reason: a.finish_reason,
        }
    }

    /// The built-in mock, streamed: [`Gateway::call_mock`]'s text as one `Text` event, then
    /// `Finish("stop")` and its token counts.
    pub fn mock_stream(&self, prompt: &Prompt) -> StreamingAnswer {
        StreamingAnswer {
            provider: MOCK.into(),
            model: MOCK.into(),
            target_index: 0,
            attempts: mock_attempts(),
            events: answer_events(MockProvider::answer(&prompt.for_model(MOCK))),
            started: Instant::now(),
            target: None,
        }
    }

    /// Asks `route`. Fallback: targets in order. Weighted: one target drawn by weight, then the
    /// others in order when it fails retryably. Per target: retries on 429, 5xx and connection
    /// errors (waiting `Retry-After` up to the cap, else a backoff); a timeout or a malformed
    /// answer moves on at once; a rejection (other 4xx) stops the call.
    pub async fn call(
        &self,
        route: &Route,
        prompt: &Prompt,
        credentials: &dyn CredentialSource,
    ) -> Result<Answer, AiError> {
        let won = self
            .first_success(route, prompt, credentials, |p, r| p.chat(r))
            .await?;
        let (target, a) = (&route.targets[won.index], won.value);
        Ok(Answer {
            cost_usd: target.cost_usd(a.input_tokens, a.output_tokens),
            text: a.text,
            provider: won.provider.to_owned(),
            model: target.model.clone(),
            target_index: won.index,
            attempts: won.attempts,
            input_tokens: a.input_tokens,
            output_tokens: a.output_tokens,
            latency_ms: u64::try_from(won.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            finish_reason: a.finish_reason,
        })
    }

    /// Like [`Gateway::call`], but the answer streams. Fallback, retries, `Retry-After` and
    /// breakers apply until a target's stream opens (a 2xx and its headers, within the
    /// config's `timeout`); after that, an error inside the stream is an `Err` item of
    /// `events` (no fallback mid-answer), and so is a pause of more than `timeout` between two
    /// events (`Timeout`).
    pub async fn call_stream(
        &self,
        route: &Route,
        prompt: &Prompt,
        credentials: &dyn CredentialSource,
    ) -> Result<StreamingAnswer, AiError> {
        let won = self
            .first_success(route, prompt, credentials, |p, r| p.chat_stream(r))
            .await?;
        let target = route.targets[won.index].clone();
        Ok(StreamingAnswer {
            provider: won.provider.to_owned(),
            model: target.model.clone(),
            target_index: won.index,
            attempts: won.attempts,
            events: with_idle_timeout(won.value, self.config.timeout),
            started: won.started,
            target: Some(target),
        })
    }

    /// The loop of [`Gateway::call`] and [`Gateway::call_stream`]: targets in the route's
    /// order, each called with `call` (bounded by the config's `timeout`) and retried as its
    /// error says, its breaker consulted and told. The first success wins; a rejection stops.
    #[instrument(skip_all, fields(strategy = ?route.strategy, targets = route.targets.len()))]
    async fn first_success<T>(
        &self,
        route: &Route,
        prompt: &Prompt,
        credentials: &dyn CredentialSource,
        call: impl for<'a> Fn(&'a dyn Provider, &'a ChatRequest) -> Call<'a, T>,
    ) -> Result<Success<T>, AiError> {
        if route.targets.is_empty() {
            return Err(AiError::NoTargets);
        }
        let started = Instant::now();
        let mut attempts = Vec::new();
        for index in self.order(route) {
            let target = &route.targets[index];
            let attempt = |outcome| Attempt {
                target_index: index,
                model: target.model.clone(),
                outcome,
            };
            let provider = match credentials.credential(target.credential_id).await {
                Ok(c) => provider_for(&c, &self.client).map_err(|e| e.to_string()),
                Err(e) => Err(e.0),
            };
            let provider = match provider {
                Ok(p) => p,
                Err(why) => {
                    warn!(target = index, %why, "AI target unavailable");
                    attempts.push(attempt(Outcome::Unavailable(why)));
                    continue;
                }
            };
            let request = prompt.for_model(&target.model);
            let (id, model) = (target.credential_id, target.model.as_str());
            let mut retries = 0;
            loop {
                if self.breakers.admit(id, model, Instant::now()) == Admission::Skip {
                    attempts.push(attempt(Outcome::CircuitOpen));
                    break;
                }
                let result = tokio::time::timeout(self.config.timeout, call(&*provider, &request))
                    .await
                    .unwrap_or(Err(ProviderError::Timeout));
                let error = match result {
                    Ok(value) => {
                        self.breakers.succeeded(id, model);
                        attempts.push(attempt(Outcome::Answered));
                        let provider = provider.kind();
                        return Ok(Success {
                            value,
                            index,
                            provider,
                            attempts,
                            started,
                        });
                    }
                    Err(e) => e,
                };
                debug!(target = index, %error, "AI attempt failed");
                if let ProviderError::Rejected { .. } = error {
                    // The target is up; the request is at fault.
                    self.breakers.succeeded(id, model);
                    attempts.push(attempt(Outcome::Failed(error)));
                    return Err(AiError::Failed { attempts });
                }
                if self.breakers.failed(id, model, Instant::now()) {
                    warn!(target = index, model, "AI circuit opened");
                }
                let wait = self.retry_delay(&error, retries);
                attempts.push(attempt(Outcome::Failed(error)));
                match wait {
                    Some(wait) if retries < self.config.retries_per_target => {
                        tokio::time::sleep(wait).await;
                        retries += 1;
                    }
                    _ => break,
                }
            }
        }
        Err(AiError::Failed { attempts })
    }

    /// The order in which targets are tried.
    fn order(&self, route: &Route) -> Vec<usize> {
        let all = 0..route.targets.len();
        match route.strategy {
            Strategy::Fallback => all.collect(),
            Strategy::Weighted => {
                let weights: Vec<f64> = route
                    .targets
                    .iter()
                    .map(|t| t.weight.unwrap_or(1.0))
                    .collect();
                let first = draw(&weights, &mut *self.lock_rng());
                std::iter::once(first)
                    .chain(all.filter(|&i| i != first))
                    .collect()
            }
        }
    }

    fn lock_rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long to wait before retrying the same target, or `None` to move on.
    fn retry_delay(&self, error: &ProviderError, retries: u32) -> Option<Duration> {
        match error {
            ProviderError::RateLimited {
                retry_after: Some(after),
            } => (*after <= self.config.retry_after_cap).then_some(*after),
            ProviderError::RateLimited { retry_after: None }
            | ProviderError::Server(_)
            | ProviderError::Connect => {
                let exp = self
                    .config
                    .backoff_base
                    .saturating_mul(2u32.saturating_pow(retries))
                    .min(self.config.backoff_max);
                let jitter: f64 = self.lock_rng().random_range(0.5..=1.0);
                Some(exp.mul_f64(jitter))
            }
            // A timeout already cost the whole budget; a malformed answer is unlikely to mend.
            ProviderError::Timeout
            | ProviderError::Malformed(_)
            | ProviderError::Rejected { .. } => None,
        }
    }
}

/// The HTTP client for providers: no redirects (a POST must not turn into a GET elsewhere),
/// no `Referer`.
pub fn http_client() -> Result<reqwest::Client, AiError> {
    // reqwest (feature `rustls-no-provider`) panics when no provider is installed. The binary
    // installs ring first; this keeps tests and other embedders from crashing. Losing the race
    // to another installer is fine: then a provider is installed.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .user_agent(concat!("automatrix/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
        .map_err(|e| AiError::Setup(e.to_string()))
}

/// An index drawn with probability proportional to its weight (weights not above 0 never win;
/// all of them not above 0: the first).
pub fn draw(weights: &[f64], rng: &mut impl Rng) -> usize {
    let usable = |w: f64| if w.is_finite() && w > 0.0 { w } else { 0.0 };
    let total: f64 = weights.iter().copied().map(usable).sum();
    if total <= 0.0 {
        return 0;
    }
    let mut point = rng.random_range(0.0..total);
    for (i, w) in weights.iter().copied().map(usable).enumerate() {
        if point < w {
            return i;
        }
        point -= w;
    }
    // Rounding left the point past the end: the last usable weight.
    weights.iter().rposition(|&w| usable(w) > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_follow_the_weights() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[draw(&[1.0, 3.0, 0.0], &mut rng)] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((2_300..2_700).contains(&counts[0]), "{counts:?}");
        assert_eq!(counts[0] + counts[1], 10_000);
        assert_eq!(draw(&[0.0, 0.0], &mut rng), 0);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let g = Gateway::new(GatewayConfig {
            retry_after_cap: Duration::from_secs(10),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
            seed: Some(1),
            ..GatewayConfig::default()
        })
        .unwrap();
        let limited = |s| ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(g.retry_delay(&limited(3), 0), Some(Duration::from_secs(3)));
        assert_eq!(g.retry_delay(&limited(11), 0), None);
        for retries in 0..6 {
            let d = g.retry_delay(&ProviderError::Server(503), retries).unwrap();
            let full =
                Duration::from_millis(100 * 2u64.pow(retries)).min(Duration::from_millis(300));
            assert!(d >= full / 2 && d <= full, "{retries}: {d:?}");
        }
        assert_eq!(g.retry_delay(&ProviderError::Timeout, 0), None);
    }

    #[test]
    fn the_mock_answer_is_labelled_and_free() {
        let g = Gateway::new(GatewayConfig::default()).unwrap();
        let a = g.call_mock(&Prompt::user("hello"));
        assert_eq!((a.provider.as_str(), a.model.as_str()), ("mock", "mock"));
        assert_eq!(a.text, "[mock] hello");
        assert!(a.cost_usd.abs() < f64::EPSILON);
    }
}
