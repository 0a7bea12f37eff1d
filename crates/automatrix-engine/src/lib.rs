//! The AutoMatrix engine: the DAG executor (graph stepping, branching, skip propagation,
//! merge, retries, timeouts, cancel), the worker (claim, heartbeat, checkpoint, complete) and
//! the [`Engine`] facade through which the API creates workflows and executions.
//!
//! The engine sees node types only through `automatrix_core::NodeRegistry` and storage only
//! through `automatrix_store::Store`.

mod ai;
mod api_keys;
mod cache;
mod cancel;
mod checkpoint;
mod credentials;
mod error;
mod events;
mod executor;
mod finished;
mod here;
mod job;
pub mod live;
mod metrics;
mod mfa;
mod portable;
mod retention;
mod rotate;
mod scheduler;
mod service;
mod services;
mod step;
mod summary;
mod templates;
mod tickets;
mod tokens;
pub mod totp;
pub mod trace;
mod vault;
mod versions;
mod webhooks;
mod worker;

pub use ai::{AiBudgetStatus, month_start, next_month_start, usage_row};
pub use api_keys::{
    API_KEY_PREFIX, CreatedApiKey, LAST_USED_PRECISION, NewApiKeyRequest, is_api_key,
};
pub use cache::DefinitionCache;
pub use cancel::CancelRegistry;
pub use checkpoint::{Checkpoint, CheckpointError, NoCheckpoint, StepRecord};
pub use credentials::{CredentialChange, NewCredentialRequest};
pub use error::EngineError;
pub use executor::{Executor, ExecutorConfig, PriorStep, RunOutcome, RunPlan};
pub use here::{Run, Started};
pub use job::Ended;
pub use metrics::{
    BusyGuard, DEFAULT_BUCKETS, EXECUTION_BUCKETS, Metrics, MetricsSnapshot,
    PROMETHEUS_CONTENT_TYPE, UNMATCHED_ROUTE,
};
pub use mfa::{MFA_ISSUER, MfaEnabling, MfaSetup, RECOVERY_CODES, SecondFactor};
pub use retention::{RetentionPolicy, prune_once, run_retention};
pub use rotate::{
    ColumnCount, RotateError, RotationReport, UnsealableValues, check_master_key, rotate_master_key,
};
pub use service::{
    Awaited, Decision, Engine, IDEMPOTENCY_WINDOW, NewWorkflowRequest, QUEUE_LOOK_TIMEOUT,
    WorkflowChange,
};
pub use summary::{
    HOURLY_MAX_RANGE, HOURLY_UP_TO, SUMMARY_DEFAULT_RANGE, SUMMARY_MAX_RANGE, SummaryRequest,
};
pub use templates::{BUILTIN_TEMPLATES, TemplateFile};
pub use tickets::WS_TICKET_TTL;
pub use tokens::{random_token, token_hash};
pub use vault::{SealedFor, Unsealable, Vault};
pub use versions::{Author, VersionDiff, VersionInfo};
pub use webhooks::FRESH_FOR as WEBHOOK_LOOKUP_FRESH_FOR;
pub use worker::{Worker, WorkerConfig};
