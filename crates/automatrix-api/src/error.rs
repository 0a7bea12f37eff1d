//! The one error shape of the API and the only place errors become HTTP responses.
//!
//! 5xx bodies are generic; the cause is logged inside the request span and never sent.

use automatrix_ai::AskError;
use automatrix_core::Problem;
use automatrix_engine::EngineError;
use automatrix_store::StoreError;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// `{"error": {"code", "message", "details"}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `VALIDATION_ERROR`.
    pub code: &'static str,
    pub message: String,
    /// Per-field problems (validation errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Problem>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A 401 whose message is not fixed text: an identity provider's refusal (single sign-on).
    #[error("{0}")]
    SignInRefused(String),
    #[error("not found")]
    NotFound,
    /// A 404 that says more than "not found" (the thing existed once, or may).
    #[error("{0}")]
    Gone(String),
    /// A feature the operator has not configured (single sign-on): 404 `NOT_CONFIGURED`.
    #[error("{0}")]
    NotConfigured(String),
    /// The organization requires multi-factor authentication and the caller has none.
    #[error("{0}")]
    MfaRequired(String),
    /// Not allowed: the caller's role is insufficient, or the resource cannot be changed (a
    /// built-in template).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<Problem>,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("service unavailable")]
    Unavailable(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A webhook's workflow failed or was cancelled; the caller learns which execution, not
    /// why (the error may name internal systems).
    #[error("the workflow did not complete (execution {0})")]
    ExecutionFailed(uuid::Uuid),
    /// The organization's monthly AI budget is used up (the AI proxy); no provider was called.
    #[error("{0}")]
    BudgetExceeded(String),
    /// The AI proxy's `model` names no AI route of the organization.
    #[error("{0}")]
    UnknownModel(String),
    /// No AI provider answered. The message lists every attempt (built by the gateway, which
    /// never puts a key in it), so unlike other 5xx it is shown.
    #[error("{0}")]
    AiFailed(String),
    /// An AI provider refused the request (a 4xx other than 401/403); passed on to the caller.
    #[error("{message}")]
    AiRejected { status: StatusCode, message: String },
    /// An unexpected failure; the message is logged, the client sees a generic one.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A 422 with one problem.
    pub fn invalid(path: &str, issue: impl Into<String>) -> Self {
        Self::Validation {
            message: "request is invalid".into(),
            details: vec![Problem {
                path: path.to_owned(),
                issue: issue.into(),
            }],
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            Self::Unauthorized(_) | Self::SignInRefused(_) => {
                (StatusCode::UNAUTHORIZED, "UNAUTHORIZED")
            }
            Self::NotFound | Self::Gone(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::NotConfigured(_) => (StatusCode::NOT_FOUND, "NOT_CONFIGURED"),
            Self::MfaRequired(_) => (StatusCode::FORBIDDEN, "MFA_REQUIRED"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            Self::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            Self::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"),
            Self::ExecutionFailed(_) => (StatusCode::INTERNAL_SERVER_ERROR, "EXECUTION_FAILED"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
            Self::BudgetExceeded(_) => (StatusCode::PAYMENT_REQUIRED, "BUDGET_EXCEEDED"),
            Self::UnknownModel(_) => (StatusCode::NOT_FOUND, "MODEL_NOT_FOUND"),
            Self::AiFailed(_) => (StatusCode::BAD_GATEWAY, "AI_PROVIDER_FAILED"),
            Self::AiRejected { status, .. } => (*status, "AI_REQUEST_REJECTED"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let message = match &self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                "an internal error occurred".to_owned()
            }
            Self::Unavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                "the service is temporarily unavailable".to_owned()
            }
            other => other.to_string(),
        };
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let details = match self {
            Self::Validation { details, .. } => details,
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
            },
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        res
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound,
            // The database's wording is not for clients; handlers that expect a conflict map it
            // to a message of their own (e.g. "email already registered").
            StoreError::Conflict(cause) | StoreError::Stale(cause) => {
                tracing::info!(%cause, "conflict");
                Self::Conflict("the request conflicts with the current state".into())
            }
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Other(m) => Self::Internal(m),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid(details) => Self::Validation {
                message: "workflow definition is invalid".into(),
                details,
            },
            EngineError::InvalidCredential(details) => Self::Validation {
                message: "credential is invalid".into(),
                details,
            },
            EngineError::InvalidAiRoute(details) => Self::Validation {
                message: "AI route is invalid".into(),
                details,
            },
            EngineError::InvalidAiBudget(details) => Self::Validation {
                message: "AI budget is invalid".into(),
                details,
            },
            EngineError::InvalidApiKey(details) => Self::Validation {
                message: "API key is invalid".into(),
                details,
            },
            EngineError::InvalidTemplate(details) => Self::Validation {
                message: "template is invalid".into(),
                details,
            },
            EngineError::InvalidParameters(details) => Self::Validation {
                message: "template parameters are invalid".into(),
                details,
            },
            EngineError::InvalidSummary(details) => Self::Validation {
                // The parameter and its problem, in the message too: there is no body to point
                // into, and a dashboard shows the message.
                message: details
                    .iter()
                    .map(|p| format!("{} {}", p.path, p.issue))
                    .collect::<Vec<_>>()
                    .join("; "),
                details,
            },
            EngineError::ReadOnly(m) => Self::Forbidden(m),
            EngineError::InvalidDocument(details) => Self::Validation {
                message: "workflow document is invalid".into(),
                details,
            },
            EngineError::NotFound => Self::NotFound,
            EngineError::Conflict(m) => Self::Conflict(m),
            EngineError::Store(s) => s.into(),
        }
    }
}

impl From<AskError> for ApiError {
    fn from(e: AskError) -> Self {
        match e {
            AskError::Budget(m) => Self::BudgetExceeded(m),
            AskError::NoRoute(_) => Self::UnknownModel(e.to_string()),
            AskError::Lookup(m) => Self::Unavailable(m),
            AskError::Call(call) => match call.rejection() {
                // The hub's provider key was refused: the caller's request is not at fault.
                Some((401 | 403, _)) | None => Self::AiFailed(call.to_string()),
                Some((status, message)) => Self::AiRejected {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                    message: format!("the AI provider refused the request: {message}"),
                },
            },
        }
    }
}

pub(crate) async fn not_found_fallback() -> ApiError {
    ApiError::NotFound
}

pub(crate) async fn method_not_allowed_fallback() -> ApiError {
    ApiError::MethodNotAllowed
}

pub(crate) fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("handler panicked".into()).into_response()
}
