//! `GET /api/node-types`: the node catalog the canvas palette and config forms are built from.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::AuthUser;
use crate::error::ErrorBody;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_node_types))
}

#[derive(Serialize, ToSchema)]
pub struct NodeTypeResponse {
    /// The `type` used in definitions.
    #[serde(rename = "type")]
    pub kind: String,
    pub display_name: String,
    pub category: String,
    pub description: String,
    /// JSON Schema of the node's `config`.
    pub config_schema: Value,
    /// Output ports an edge may leave from (`output` of an edge; `main` when omitted). Empty
    /// for a node that ends its branch, and when `dynamic_outputs` is true.
    pub outputs: Vec<String>,
    /// The ports are named by each node's config rather than listed in `outputs`
    /// (`logic.switch`: the `output` of each case, then `default_output`); the validator
    /// accepts edges from exactly those.
    pub dynamic_outputs: bool,
    pub is_trigger: bool,
    /// Config fields holding JavaScript code rather than templates.
    pub code_fields: Vec<String>,
    /// Running it changes something outside the execution (a request, a message).
    pub side_effects: bool,
    /// Set for a loop (`logic.foreach`): the nodes reachable from its `body` port run once
    /// per item; `done` is taken after every item, with the results.
    pub fan_out: Option<FanOutPorts>,
    /// Example nodes of this type, as they appear in a definition.
    pub examples: Vec<Value>,
    /// Markdown documentation.
    pub docs: String,
}

/// The ports of a loop node.
#[derive(Serialize, ToSchema)]
pub struct FanOutPorts {
    pub body: String,
    pub done: String,
}

/// Every node type this server knows.
#[utoipa::path(get, path = "/api/node-types", tag = "node-types",
    responses((status = 200, body = Vec<NodeTypeResponse>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_node_types(
    State(state): State<AppState>,
    _auth: AuthUser,
) -> Json<Vec<NodeTypeResponse>> {
    Json(
        state
            .engine
            .registry()
            .specs()
            .map(|s| NodeTypeResponse {
                kind: s.kind.to_owned(),
                display_name: s.display_name.to_owned(),
                category: s.category.to_owned(),
                description: s.description.to_owned(),
                config_schema: s.config_schema.clone(),
                outputs: s.outputs.iter().map(|p| (*p).to_owned()).collect(),
                dynamic_outputs: s.dynamic_outputs,
                is_trigger: s.is_trigger,
                code_fields: s.code_fields.iter().map(|p| (*p).to_owned()).collect(),
                side_effects: s.side_effects,
                fan_out: s.fan_out.map(|f| FanOutPorts {
                    body: f.body.to_owned(),
                    done: f.done.to_owned(),
                }),
                examples: s.examples(),
                docs: s.docs.to_owned(),
            })
            .collect(),
    )
}
