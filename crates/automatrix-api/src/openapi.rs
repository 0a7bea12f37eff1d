//! The OpenAPI 3.1 document, generated from the handlers' annotations, served at
//! `/api/openapi.json`, with Swagger UI at `/docs` (assets embedded in the binary).

use axum::Json;
use axum::Router;
use utoipa::openapi::OpenApi as Doc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "AutoMatrix API", description = "Workflow automation for automotive dealerships."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody, automatrix_core::Problem)),
    tags(
        (name = "auth", description = "Accounts and tokens"),
        (name = "organizations", description = "Organizations, members and invitations; requests choose one with `X-Organization-Id`"),
        (name = "audit", description = "The audit log: every change and sign-in"),
        (name = "workflows", description = "Workflow definitions, versions and runs"),
        (name = "executions", description = "Execution history and control"),
        (name = "metrics", description = "The dashboard's numbers: executions by status, workflow and hour or day, run times, AI cost"),
        (name = "credentials", description = "The credentials vault: write-only secrets that nodes name by id"),
        (name = "api-keys", description = "API keys: bearer credentials for programs, acting as the user who created them"),
        (name = "ai", description = "AI routes (what a model alias stands for), usage and cost accounting, monthly budgets"),
        (name = "templates", description = "Built-in dealership templates and the organization's own; instantiate one into a workflow"),
        (name = "node-types", description = "The node catalog"),
        (name = "live", description = "Real time: WebSocket tickets and sockets"),
        (name = "health", description = "Probes and metrics"),
        (name = "webhooks", description = "Public entry points of webhook-triggered workflows"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut Doc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or API key")
                    .description(Some(
                        "An access token from `POST /api/auth/login`, or an API key (`amx_…`) \
                         from `POST /api/api-keys`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every documented route, with the document.
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::router())
        .merge(crate::sso::router())
        .merge(crate::orgs::router())
        .merge(crate::audit::router())
        .merge(crate::workflows::router())
        .merge(crate::workflow_versions::router())
        .merge(crate::workflow_io::router())
        .merge(crate::credentials::router())
        .merge(crate::api_keys::router())
        .merge(crate::ai::router())
        .merge(crate::ai_proxy::router())
        .merge(crate::templates::router())
        .merge(crate::executions::router())
        .merge(crate::dashboard::router())
        .merge(crate::node_types::router())
        .merge(crate::live::router())
        .merge(crate::health::router())
        .merge(crate::metrics::router())
        .merge(crate::hooks::router())
}

/// The generated document (also used by tests and `automatrix` tooling).
pub fn openapi() -> Doc {
    api_router().split_for_parts().1
}

pub(crate) fn docs_router(doc: Doc) -> Router<AppState> {
    let json = doc.clone();
    let swagger =
        SwaggerUi::new("/docs").config(Config::new(["/api/openapi.json"]).validator_url("none"));
    Router::new()
        .route(
            "/api/openapi.json",
            axum::routing::get(move || async move { Json(json) }),
        )
        .merge(Router::from(swagger).with_state(()))
}
