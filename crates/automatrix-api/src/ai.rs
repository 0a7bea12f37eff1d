//! `/api/ai/*`: the organization's AI routes (what a model alias stands for), the accounting
//! of its AI calls and its monthly budget. The gateway that makes the calls lives elsewhere;
//! this module only keeps and reports.

use automatrix_core::ai::Route;
use automatrix_engine::{AiBudgetStatus, month_start, next_month_start};
use automatrix_store::{AiRouteRow, AiUsageGroup, AiUsageItem, AiUsageReport};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::executions::time_param;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_ai_routes))
        .routes(routes!(get_ai_route, put_ai_route, delete_ai_route))
        .routes(routes!(ai_usage))
        .routes(routes!(get_ai_budget, put_ai_budget))
}

/// A route as the API shows it: its alias, its strategy and targets, and when it was saved.
#[derive(Serialize, ToSchema)]
pub struct AiRouteResponse {
    pub alias: String,
    #[serde(flatten)]
    pub route: Route,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<AiRouteRow> for AiRouteResponse {
    fn from(r: AiRouteRow) -> Self {
        Self {
            alias: r.alias,
            route: r.definition.0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AiRouteList {
    pub items: Vec<AiRouteResponse>,
}

/// The AI routes of the caller's organization, by alias.
#[utoipa::path(get, path = "/api/ai/routes", tag = "ai",
    responses((status = 200, body = AiRouteList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_ai_routes(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<AiRouteList>, ApiError> {
    let rows = state.store().list_ai_routes(auth.org_id).await?;
    Ok(Json(AiRouteList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// One AI route.
#[utoipa::path(get, path = "/api/ai/routes/{alias}", tag = "ai", params(("alias" = String, Path)),
    responses((status = 200, body = AiRouteResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_ai_route(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(alias): ApiPath<String>,
) -> Result<Json<AiRouteResponse>, ApiError> {
    let found = state
        .store()
        .get_ai_route(auth.org_id, &alias)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(found.into()))
}

/// Create or replace an AI route. Every target names a provider credential (`openai`,
/// `azure_openai`, `anthropic`, `openai_compatible`) of the organization, with its prices.
#[utoipa::path(put, path = "/api/ai/routes/{alias}", tag = "ai", params(("alias" = String, Path)), request_body = Route,
    responses((status = 201, body = AiRouteResponse, description = "created"), (status = 200, body = AiRouteResponse, description = "replaced"),
        (status = 422, body = ErrorBody, description = "every problem with its path (`alias`, `targets[0].credential_id`, ...)")),
    security(("bearer" = [])))]
async fn put_ai_route(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(alias): ApiPath<String>,
    ApiJson(route): ApiJson<Route>,
) -> Result<(StatusCode, Json<AiRouteResponse>), ApiError> {
    let (row, created) = state
        .engine
        .put_ai_route(auth.org_id, &alias, route)
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(row.into())))
}

/// Delete an AI route. Its accounted calls stay.
#[utoipa::path(delete, path = "/api/ai/routes/{alias}", tag = "ai", params(("alias" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_ai_route(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(alias): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_ai_route(auth.org_id, &alias).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, IntoParams)]
pub struct AiUsageQuery {
    /// `day` (UTC, `YYYY-MM-DD`; the default), `model` or `workflow` (the workflow id, `none`
    /// for calls from outside a workflow).
    pub group_by: Option<String>,
    /// Calls at or after (RFC 3339); default: the start of the current UTC month.
    pub since: Option<String>,
    /// Calls before (RFC 3339); default: the start of the next UTC month.
    pub until: Option<String>,
}

/// One group of a usage report.
#[derive(Serialize, ToSchema)]
pub struct AiUsageItemResponse {
    pub key: String,
    pub cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
}

impl From<AiUsageItem> for AiUsageItemResponse {
    fn from(i: AiUsageItem) -> Self {
        Self {
            key: i.key,
            cost_usd: i.cost_usd,
            input_tokens: i.input_tokens,
            output_tokens: i.output_tokens,
            calls: i.calls,
        }
    }
}

/// AI calls of a time window: totals, and one item per group ordered by key.
#[derive(Serialize, ToSchema)]
pub struct AiUsageResponse {
    pub total_cost_usd: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub calls: i64,
    /// `day`, `model` or `workflow`.
    pub group_by: &'static str,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub items: Vec<AiUsageItemResponse>,
}

fn parse_group(v: Option<&str>) -> Result<(AiUsageGroup, &'static str), ApiError> {
    match v.unwrap_or("day") {
        "day" => Ok((AiUsageGroup::Day, "day")),
        "model" => Ok((AiUsageGroup::Model, "model")),
        "workflow" => Ok((AiUsageGroup::Workflow, "workflow")),
        _ => Err(ApiError::BadRequest(
            "group_by must be one of day, model, workflow".into(),
        )),
    }
}

/// What the organization's AI calls cost, grouped by day, model or workflow; by default over
/// the current UTC calendar month.
#[utoipa::path(get, path = "/api/ai/usage", tag = "ai", params(AiUsageQuery),
    responses((status = 200, body = AiUsageResponse), (status = 400, body = ErrorBody, description = "a bad group_by, since or until")),
    security(("bearer" = [])))]
async fn ai_usage(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(q): ApiQuery<AiUsageQuery>,
) -> Result<Json<AiUsageResponse>, ApiError> {
    let (group, group_by) = parse_group(q.group_by.as_deref())?;
    let now = Utc::now();
    let since = time_param("since", q.since.as_deref())?.unwrap_or_else(|| month_start(now));
    let until = time_param("until", q.until.as_deref())?.unwrap_or_else(|| next_month_start(now));
    if since >= until {
        return Err(ApiError::BadRequest("since must be before until".into()));
    }
    let AiUsageReport {
        total_cost_usd,
        input_tokens,
        output_tokens,
        calls,
        items,
    } = state
        .store()
        .ai_usage_report(auth.org_id, since, until, group)
        .await?;
    Ok(Json(AiUsageResponse {
        total_cost_usd,
        input_tokens,
        output_tokens,
        calls,
        group_by,
        since,
        until,
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The monthly AI budget.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAiBudget {
    /// US dollars per UTC calendar month, 0 or more (0 stops every AI call).
    pub monthly_usd: f64,
    /// The share of the budget (above 0, at most 1) from which it reports `alerting`.
    #[serde(default = "default_alert_at")]
    #[schema(default = 0.8)]
    pub alert_at: f64,
}

fn default_alert_at() -> f64 {
    0.8
}

/// The budget and this month's spend. Without a budget, `monthly_usd`, `alert_at`,
/// `remaining_usd` and `updated_at` are null and nothing is limited; the spend is still shown.
#[derive(Serialize, ToSchema)]
pub struct AiBudgetResponse {
    pub monthly_usd: Option<f64>,
    pub alert_at: Option<f64>,
    /// Spent since the start of the current UTC month.
    pub spent_usd: f64,
    /// What is left this month (never below 0).
    pub remaining_usd: Option<f64>,
    /// The spend has reached `alert_at` of the budget.
    pub alerting: bool,
    /// The spend has reached the budget: AI steps fail before calling a provider.
    pub exhausted: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<AiBudgetStatus> for AiBudgetResponse {
    fn from(s: AiBudgetStatus) -> Self {
        Self {
            monthly_usd: s.budget.as_ref().map(|b| b.monthly_usd),
            alert_at: s.budget.as_ref().map(|b| b.alert_at),
            spent_usd: s.spent_usd,
            remaining_usd: s.remaining_usd(),
            alerting: s.alerting(),
            exhausted: s.exhausted(),
            updated_at: s.budget.as_ref().map(|b| b.updated_at),
        }
    }
}

/// The organization's monthly AI budget and what it spent this month.
#[utoipa::path(get, path = "/api/ai/budget", tag = "ai",
    responses((status = 200, body = AiBudgetResponse), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn get_ai_budget(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<AiBudgetResponse>, ApiError> {
    let status = state
        .engine
        .ai_budget_status(auth.org_id, Utc::now())
        .await?;
    Ok(Json(status.into()))
}

/// Set the organization's monthly AI budget. Once a month's spend reaches it, AI steps fail
/// before calling a provider, with an error that says "budget".
#[utoipa::path(put, path = "/api/ai/budget", tag = "ai", request_body = PutAiBudget,
    responses((status = 200, body = AiBudgetResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn put_ai_budget(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<PutAiBudget>,
) -> Result<Json<AiBudgetResponse>, ApiError> {
    state
        .engine
        .put_ai_budget(auth.org_id, req.monthly_usd, req.alert_at)
        .await?;
    let status = state
        .engine
        .ai_budget_status(auth.org_id, Utc::now())
        .await?;
    Ok(Json(status.into()))
}
