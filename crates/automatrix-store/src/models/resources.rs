//! What an organization keeps besides workflows: credentials (sealed), AI routes, usage and
//! budgets, templates.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// A stored credential. `sealed` is its data encrypted by the engine's vault (nonce and
/// ciphertext); the store never sees the plain data.
#[derive(Clone, sqlx::FromRow)]
pub struct Credential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub kind: String,
    pub sealed: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("organization_id", &self.organization_id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("sealed", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct NewCredential {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub kind: String,
    pub sealed: Vec<u8>,
    pub now: DateTime<Utc>,
}

/// A change to a credential; `None` leaves a field as it is. The type never changes.
#[derive(Clone, Default)]
pub struct CredentialUpdate {
    pub name: Option<String>,
    pub sealed: Option<Vec<u8>>,
}

/// A column whose values are sealed under the master secret. Each names fixed SQL (see
/// `sql/credentials.rs`); another sealed column (a user's TOTP secret) is one more variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedColumn {
    /// `credentials.sealed`: an organization's credential data.
    CredentialData,
    /// `user_mfa.secret_sealed`: a user's TOTP secret (the row id is the user's).
    MfaSecret,
}

/// One sealed value replaced by the master-key rotation: the row `id` of `column` held `old`
/// when it was read and gets `new`. `Debug` shows neither value.
#[derive(Clone)]
pub struct SealedRewrite {
    pub column: SealedColumn,
    pub id: Uuid,
    pub old: Vec<u8>,
    pub new: Vec<u8>,
}

impl std::fmt::Debug for SealedRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRewrite")
            .field("column", &self.column)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A stored AI route: what `alias` stands for in an organization.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AiRouteRow {
    pub organization_id: Uuid,
    pub alias: String,
    pub definition: Json<automatrix_core::ai::Route>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How an AI call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiCallStatus {
    Ok,
    Error,
}

impl AiCallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// One AI call to account for. `workflow_id`, `execution_id` and `node_id` are `None` for
/// calls from outside a workflow (the OpenAI-compatible proxy).
#[derive(Clone, Debug)]
pub struct NewAiUsage {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub workflow_id: Option<Uuid>,
    pub execution_id: Option<Uuid>,
    pub node_id: Option<String>,
    /// The route alias the call was made through.
    pub route: String,
    /// The provider's credential type (`openai`, `anthropic`, ..., `mock`).
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub latency_ms: i64,
    pub cost_usd: f64,
    pub status: AiCallStatus,
    pub created_at: DateTime<Utc>,
}

/// What an AI usage report groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AiUsageGroup {
    /// The UTC calendar day, `YYYY-MM-DD`.
    Day,
    /// The provider's model name.
    Model,
    /// The workflow id; [`AI_USAGE_NO_WORKFLOW`] for calls outside any workflow.
    Workflow,
}

/// The key under [`AiUsageGroup::Workflow`] of calls made outside any workflow (the proxy).
pub const AI_USAGE_NO_WORKFLOW: &str = "none";

/// Totals of one group of an [`AiUsageReport`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AiUsageItem {
    pub key: String,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
}

/// AI usage of an organization in a time window: the totals and one item per group, ordered
/// by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AiUsageReport {
    pub total_cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
    pub items: Vec<AiUsageItem>,
}

/// An organization's monthly AI budget.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AiBudget {
    pub organization_id: Uuid,
    /// US dollars per UTC calendar month.
    pub monthly_usd: f64,
    /// The share of `monthly_usd` (0 to 1) from which the budget is reported as alerting.
    pub alert_at: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored template: a built-in one (no organization, a slug) or an organization's own.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: Uuid,
    pub organization_id: Option<Uuid>,
    pub slug: Option<String>,
    pub name: String,
    pub category: String,
    pub spec: Json<automatrix_core::template::TemplateSpec>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TemplateRow {
    /// Built-in templates ship with the binary and cannot be changed through the API.
    pub fn builtin(&self) -> bool {
        self.organization_id.is_none()
    }
}

/// An organization's own template to insert.
#[derive(Clone, Debug)]
pub struct NewTemplate {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub created_by: Option<Uuid>,
    pub spec: automatrix_core::template::TemplateSpec,
    pub now: DateTime<Utc>,
}
