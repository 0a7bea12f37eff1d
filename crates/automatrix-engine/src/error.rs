//! The engine's one error type.

use automatrix_core::Problem;
use automatrix_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The workflow definition is invalid; every problem is listed.
    #[error("workflow definition is invalid")]
    Invalid(Vec<Problem>),
    /// A credential's type or data is invalid; every problem is listed (never the value).
    #[error("credential is invalid")]
    InvalidCredential(Vec<Problem>),
    /// An AI route is invalid (its alias, its targets or their credentials); every problem is
    /// listed.
    #[error("AI route is invalid")]
    InvalidAiRoute(Vec<Problem>),
    /// An AI budget is out of range; every problem is listed.
    #[error("AI budget is invalid")]
    InvalidAiBudget(Vec<Problem>),
    /// An API key's name, role or expiry is invalid; every problem is listed.
    #[error("API key is invalid")]
    InvalidApiKey(Vec<Problem>),
    /// A template (its fields, parameters or definition) is invalid; every problem is listed.
    #[error("template is invalid")]
    InvalidTemplate(Vec<Problem>),
    /// The values given for a template's parameters are missing, ill-typed or unknown; every
    /// problem is listed (`parameters.<name>`).
    #[error("template parameters are invalid")]
    InvalidParameters(Vec<Problem>),
    /// A metrics summary's range or bucket is invalid; the problems name the parameter.
    #[error("summary query is invalid")]
    InvalidSummary(Vec<Problem>),
    /// The resource cannot be changed (a built-in template).
    #[error("{0}")]
    ReadOnly(String),
    /// An import document is invalid (its format, or credentials it names that the
    /// organization lacks); every problem is listed.
    #[error("workflow document is invalid")]
    InvalidDocument(Vec<Problem>),
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (e.g. cancelling a finished execution).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store `Conflict` on a name passes on as [`EngineError::Conflict`] with the store's message
/// (one of ours, e.g. "a credential with this name already exists"), which the client reads;
/// any other store error stays what it is.
pub(crate) fn name_taken(e: StoreError) -> EngineError {
    match e {
        StoreError::Conflict(m) => EngineError::Conflict(m),
        other => other.into(),
    }
}
