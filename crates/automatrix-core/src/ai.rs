//! AI routes: what a model alias (`default`, `lead-qualifier`) stands for. Shared by the AI
//! gateway (which calls the targets), the store (which keeps routes per organization) and the
//! API (which validates and serves them).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::Problem;

/// The credential types that name an AI provider.
pub const PROVIDER_KINDS: [&str; 4] = ["openai", "azure_openai", "anthropic", "openai_compatible"];

/// One AI call to account for, as the caller knows it; the engine adds the organization and
/// workflow (`ai_usage` rows, `GET /api/ai/usage`).
#[derive(Clone, Debug, PartialEq)]
pub struct AiUsage {
    /// The route alias the call went through.
    pub route: String,
    /// The provider's credential type (`openai`, ..., `mock`); `none` when no target was
    /// reached.
    pub provider: String,
    /// The provider's model name.
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub latency_ms: u64,
    pub cost_usd: f64,
    /// Whether the call answered.
    pub ok: bool,
    /// The execution and step that made the call (none for the proxy).
    pub execution_id: Option<uuid::Uuid>,
    pub node_id: Option<String>,
}

/// How a route picks its target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Targets in order: the next one when a call fails with 429, 5xx, a timeout or a
    /// connection error.
    #[default]
    Fallback,
    /// One target per call, drawn by weight (A/B tests); the answer records which one.
    Weighted,
}

/// One provider and model of a route, with its prices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A credential of a provider type ([`PROVIDER_KINDS`]).
    pub credential_id: uuid::Uuid,
    /// The provider's model name (`gpt-4o-mini`, `claude-3-5-haiku-latest`, `llama3.1`).
    pub model: String,
    /// Share of calls under [`Strategy::Weighted`] (relative to the other targets').
    #[serde(default)]
    pub weight: Option<f64>,
    /// US dollars per million input tokens.
    pub input_usd_per_mtok: f64,
    /// US dollars per million output tokens.
    pub output_usd_per_mtok: f64,
}

impl Target {
    /// What a call with these token counts costs, in US dollars.
    pub fn cost_usd(&self, input_tokens: u64, output_tokens: u64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let (input, output) = (input_tokens as f64, output_tokens as f64);
        (input * self.input_usd_per_mtok + output * self.output_usd_per_mtok) / 1_000_000.0
    }
}

/// A route: `PUT /api/ai/routes/{alias}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(default)]
    pub strategy: Strategy,
    pub targets: Vec<Target>,
}

/// The most targets one route may have.
pub const MAX_TARGETS: usize = 8;

/// Whether `alias` can name a route: 1 to 64 characters of `a-z`, `0-9`, `.`, `_` and `-`,
/// starting with a letter or digit.
pub fn valid_alias(alias: &str) -> bool {
    let mut chars = alias.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && alias.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

impl Route {
    /// What is wrong with the route itself (not whether its credentials exist): paths like
    /// `targets[1].weight`.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut push = |path: String, issue: &str| {
            out.push(Problem {
                path,
                issue: issue.to_owned(),
            });
        };
        if self.targets.is_empty() || self.targets.len() > MAX_TARGETS {
            push(
                "targets".into(),
                &format!("must have 1 to {MAX_TARGETS} targets"),
            );
        }
        for (i, t) in self.targets.iter().enumerate() {
            if t.model.trim().is_empty() {
                push(format!("targets[{i}].model"), "must not be empty");
            }
            for (field, price) in [
                ("input_usd_per_mtok", t.input_usd_per_mtok),
                ("output_usd_per_mtok", t.output_usd_per_mtok),
            ] {
                if !(price.is_finite() && price >= 0.0) {
                    push(
                        format!("targets[{i}].{field}"),
                        "must be a price of 0 or more",
                    );
                }
            }
            match (self.strategy, t.weight) {
                (Strategy::Weighted, None) => {
                    push(
                        format!("targets[{i}].weight"),
                        "is required for a weighted route",
                    );
                }
                (_, Some(w)) if !(w.is_finite() && w > 0.0) => {
                    push(format!("targets[{i}].weight"), "must be more than 0");
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn route(value: serde_json::Value) -> Route {
        serde_json::from_value(value).expect("a route")
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let t = route(
            json!({"targets": [{"credential_id": uuid::Uuid::nil(), "model": "m",
            "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0.6}]}),
        )
        .targets[0]
            .clone();
        let cost = t.cost_usd(1_000, 500);
        assert!((cost - 0.000_45).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn problems_name_their_paths() {
        let r = route(json!({"strategy": "weighted", "targets": [
            {"credential_id": uuid::Uuid::nil(), "model": "", "input_usd_per_mtok": -1, "output_usd_per_mtok": 1},
            {"credential_id": uuid::Uuid::nil(), "model": "m", "weight": 0, "input_usd_per_mtok": 1, "output_usd_per_mtok": 1}
        ]}));
        let paths: Vec<String> = r.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "targets[0].model",
                "targets[0].input_usd_per_mtok",
                "targets[0].weight",
                "targets[1].weight"
            ]
        );
        assert_eq!(route(json!({"targets": []})).problems()[0].path, "targets");
    }

    #[test]
    fn aliases_are_lower_case_names() {
        for ok in ["default", "lead-qualifier", "gpt4o.mini_v2", "7b"] {
            assert!(valid_alias(ok), "{ok}");
        }
        for bad in ["", "Default", "-x", "a b", "é", &"x".repeat(65)] {
            assert!(!valid_alias(bad), "{bad}");
        }
    }
}
