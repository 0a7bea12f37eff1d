//! `POST /api/ai/v1/chat/completions`: an OpenAI-compatible endpoint in front of the
//! organization's AI routes, so a dealer's other software (a CRM plug-in, a chat widget, a
//! script using the `openai` library) gets the same fallback, budget and accounting as the AI
//! nodes. `model` is a route alias; the bearer is an access token or an API key.

mod request;
mod stream;

use async_trait::async_trait;
use automatrix_ai::{Tenant, openai_finish_reason};
use automatrix_core::ai::{AiUsage, Route};
use automatrix_core::services::Credential;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub use request::ChatCompletionRequest;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(chat_completions))
}

/// The caller's organization as the gateway's [`Tenant`]: its routes, budget, credentials and
/// accounting (usage rows without workflow, execution or step).
#[derive(Clone)]
pub(crate) struct OrgTenant {
    pub state: AppState,
    pub org: Uuid,
}

#[async_trait]
impl Tenant for OrgTenant {
    async fn route(&self, alias: &str) -> Result<Option<Route>, String> {
        let row = self.state.store().get_ai_route(self.org, alias).await;
        row.map(|r| r.map(|r| r.definition.0))
            .map_err(|e| e.to_string())
    }

    async fn budget_check(&self) -> Result<(), String> {
        self.state
            .engine
            .ai_budget_check(self.org, Utc::now())
            .await
    }

    async fn credential(
        &self,
        id: Uuid,
    ) -> Result<Credential, automatrix_ai::CredentialUnavailable> {
        self.state
            .engine
            .open_credential(self.org, id)
            .await
            .map_err(|e| automatrix_ai::CredentialUnavailable(e.message))
    }

    async fn record(&self, usage: AiUsage) {
        let row = automatrix_engine::usage_row(self.org, None, usage, Utc::now());
        if let Err(e) = self.state.engine.record_ai_usage(row).await {
            tracing::warn!(error = %e, "AI usage not recorded");
        }
    }
}

/// `chat.completion`: OpenAI's answer, plus what AutoMatrix adds under `automatrix`.
#[derive(Serialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-…`
    pub id: String,
    /// `chat.completion`
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    /// The provider's model that answered (`mock` for the mock).
    pub model: String,
    #[schema(value_type = Vec<Object>)]
    pub choices: Vec<Value>,
    #[schema(value_type = Object)]
    pub usage: Value,
    /// `{route, provider, variant, cost_usd, attempts}`: which route and target answered,
    /// what it cost, and every attempt.
    #[schema(value_type = Object)]
    pub automatrix: Value,
}

pub(crate) fn completion_id() -> String {
    format!("chatcmpl-{}", Uuid::now_v7().simple())
}

/// An OpenAI-compatible chat completion through the caller's AI routes: `model` is the route
/// alias (`default` answers from the built-in mock until configured). Fallback, budget and
/// accounting are those of the AI nodes; with `stream: true` the answer comes as server-sent
/// events (`chat.completion.chunk`s, an optional usage chunk, `data: [DONE]`).
#[utoipa::path(post, path = "/api/ai/v1/chat/completions", tag = "ai",
    request_body = ChatCompletionRequest,
    responses(
        (status = 200, description = "the answer (`application/json`), or with `stream: true` server-sent events (`text/event-stream`)", body = ChatCompletion),
        (status = 401, body = ErrorBody),
        (status = 402, body = ErrorBody, description = "the organization's monthly AI budget is used up (`BUDGET_EXCEEDED`)"),
        (status = 404, body = ErrorBody, description = "`model` names no AI route (`MODEL_NOT_FOUND`)"),
        (status = 422, body = ErrorBody, description = "a field the proxy does not support (`tools`, `n` > 1, image parts), or a bad value"),
        (status = 502, body = ErrorBody, description = "no provider of the route answered; the message lists every attempt (`AI_PROVIDER_FAILED`)"),
    ),
    security(("bearer" = [])))]
async fn chat_completions(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let prompt = req.prompt()?;
    let tenant = OrgTenant {
        state: state.clone(),
        org: auth.org_id,
    };
    if req.stream {
        return stream::respond(tenant, &req, &prompt).await;
    }
    let answer = state.ai.ask(&tenant, &req.model, &prompt).await?;
    let body = ChatCompletion {
        id: completion_id(),
        object: "chat.completion",
        created: Utc::now().timestamp(),
        model: answer.model.clone(),
        choices: vec![json!({
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "logprobs": null,
            "finish_reason": answer.finish_reason.as_deref().map_or_else(|| "stop".to_owned(), openai_finish_reason),
        })],
        usage: usage_json(answer.input_tokens, answer.output_tokens),
        automatrix: json!({
            "route": req.model,
            "provider": answer.provider,
            "variant": answer.target_index,
            "cost_usd": answer.cost_usd,
            "attempts": answer.attempts,
        }),
    };
    Ok(Json(body).into_response())
}

pub(crate) fn usage_json(input: u64, output: u64) -> Value {
    json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output})
}
