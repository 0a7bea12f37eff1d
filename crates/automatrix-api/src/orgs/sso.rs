//! `/api/orgs/{id}/sso`: the email domains whose verified addresses the organization accepts
//! through single sign-on, and the role such accounts get. A domain belongs to one
//! organization (409 otherwise). Owners change it; admins read it.

use automatrix_core::Role;
use automatrix_store::{SsoDomain, StoreError};
use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_sso, put_sso))
}

/// The most domains one organization claims.
const MAX_DOMAINS: usize = 50;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    /// Email domains (`dealer.example`), lower-cased; empty: no sign-ups through SSO.
    pub domains: Vec<String>,
    /// The role of an account that single sign-on adds (admin, editor or viewer; never
    /// owner). `null` in an answer without domains.
    pub role: Option<Role>,
}

impl SsoSettings {
    fn from_rows(rows: Vec<SsoDomain>) -> Self {
        Self {
            role: rows.first().map(|d| d.role),
            domains: rows.into_iter().map(|d| d.domain).collect(),
        }
    }
}

/// A domain as an email address ends: letters, digits, hyphens, dots; at least two labels.
fn domain(raw: &str) -> Option<String> {
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels_ok = d.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    (d.len() <= 253 && d.contains('.') && labels_ok).then_some(d)
}

/// The organization's single sign-on domains (admins).
#[utoipa::path(get, path = "/api/orgs/{id}/sso", tag = "organizations", params(("id" = Uuid, Path)),
    responses((status = 200, body = SsoSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_sso(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<SsoSettings>, ApiError> {
    let rows = state.store().list_sso_domains(auth.org_id).await?;
    Ok(Json(SsoSettings::from_rows(rows)))
}

/// Replace the organization's single sign-on domains and role (owners).
#[utoipa::path(put, path = "/api/orgs/{id}/sso", tag = "organizations", params(("id" = Uuid, Path)), request_body = SsoSettings,
    responses((status = 200, body = SsoSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "a domain is claimed by another organization"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_sso(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<SsoSettings>,
) -> Result<Json<SsoSettings>, ApiError> {
    let mut problems = Vec::new();
    let mut domains = Vec::new();
    for (i, raw) in req.domains.iter().enumerate() {
        match domain(raw) {
            Some(d) if !domains.contains(&d) => domains.push(d),
            Some(_) => {}
            None => problems.push(automatrix_core::Problem {
                path: format!("domains[{i}]"),
                issue: "must be an email domain such as dealer.example".into(),
            }),
        }
    }
    if domains.len() > MAX_DOMAINS {
        problems.push(automatrix_core::Problem {
            path: "domains".into(),
            issue: format!("at most {MAX_DOMAINS} domains"),
        });
    }
    let role = match req.role {
        Some(Role::Owner) => {
            problems.push(automatrix_core::Problem {
                path: "role".into(),
                issue: "single sign-on cannot make owners: admin, editor or viewer".into(),
            });
            Role::Viewer
        }
        Some(role) => role,
        None if domains.is_empty() => Role::Viewer,
        None => {
            problems.push(automatrix_core::Problem {
                path: "role".into(),
                issue: "is required with domains".into(),
            });
            Role::Viewer
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation {
            message: "single sign-on settings are invalid".into(),
            details: problems,
        });
    }
    let rows = state
        .store()
        .set_sso_domains(auth.org_id, &domains, role, Utc::now())
        .await
        .map_err(|e| match e {
            StoreError::Conflict(m) => ApiError::Conflict(m),
            other => other.into(),
        })?;
    Ok(Json(SsoSettings::from_rows(rows)))
}

#[cfg(test)]
mod tests {
    use super::domain;

    #[test]
    fn domains_are_normalized_and_checked() {
        assert_eq!(
            domain(" Dealer.Example. ").as_deref(),
            Some("dealer.example")
        );
        assert_eq!(domain("a-b.co.uk").as_deref(), Some("a-b.co.uk"));
        for bad in [
            "localhost",
            "@dealer.example",
            "-a.example",
            "a..example",
            "a b.example",
            "",
        ] {
            assert_eq!(domain(bad), None, "{bad}");
        }
    }
}
