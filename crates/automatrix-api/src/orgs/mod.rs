//! `/api/orgs`: organizations and their members. A user belongs to any number of
//! organizations; who may call which route is the access policy ([`crate::access`]). Inside
//! it, two rules only an owner's hand may break: only owners grant, change or remove the owner
//! role, and the last owner stays.

mod invitations;
mod sso;

use automatrix_core::Role;
use automatrix_store::{
    Member, MemberChange, NewOrganization, Organization, OrganizationUpdate, UserOrganization,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Account, AuthUser};
use crate::auth::normalize_email;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org))
        .routes(routes!(leave_org))
        .routes(routes!(list_members, add_member))
        .routes(routes!(change_member, remove_member))
        .merge(invitations::router())
        .merge(sso::router())
}

/// An organization, with the caller's role in it.
#[derive(Serialize, ToSchema)]
pub struct OrgResponse {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// Members must use multi-factor authentication to reach the organization's resources.
    pub require_mfa: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrgResponse {
    fn new(o: Organization, role: Role) -> Self {
        Self {
            id: o.id,
            name: o.name,
            role,
            require_mfa: o.require_mfa,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

impl From<UserOrganization> for OrgResponse {
    fn from(o: UserOrganization) -> Self {
        Self::new(o.organization, o.role)
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrgList {
    pub items: Vec<OrgResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// 1 to 200 characters.
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    pub name: Option<String>,
    /// Require multi-factor authentication of every member.
    pub require_mfa: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct MemberResponse {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

impl From<Member> for MemberResponse {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            role: m.role,
            joined_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MemberList {
    pub items: Vec<MemberResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    /// The email of an existing account (invite someone without one).
    pub email: String,
    pub role: Role,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeMember {
    pub role: Role,
}

fn org_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

/// Only an owner may grant, change or take away the owner role.
pub(crate) fn check_owner_rule(caller: &AuthUser, roles: &[Role]) -> Result<(), ApiError> {
    if caller.role != Role::Owner && roles.contains(&Role::Owner) {
        return Err(ApiError::Forbidden(
            "only an owner can grant, change or remove the owner role".into(),
        ));
    }
    Ok(())
}

fn membership_change(change: MemberChange) -> Result<(), ApiError> {
    match change {
        MemberChange::Done => Ok(()),
        MemberChange::NotMember => Err(ApiError::NotFound),
        MemberChange::LastOwner => Err(ApiError::Conflict(
            "the organization's last owner cannot leave or lose the role; make another member \
             owner first"
                .into(),
        )),
    }
}

/// The organizations the caller belongs to, oldest membership first (the first is where
/// requests without `X-Organization-Id` act).
#[utoipa::path(get, path = "/api/orgs", tag = "organizations",
    responses((status = 200, body = OrgList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_orgs(
    State(state): State<AppState>,
    account: Account,
) -> Result<Json<OrgList>, ApiError> {
    let rows = state
        .store()
        .list_user_organizations(account.user_id)
        .await?;
    Ok(Json(OrgList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Create an organization; the caller is its owner.
#[utoipa::path(post, path = "/api/orgs", tag = "organizations", request_body = CreateOrg,
    responses((status = 201, body = OrgResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_org(
    State(state): State<AppState>,
    account: Account,
    ApiJson(req): ApiJson<CreateOrg>,
) -> Result<(StatusCode, Json<OrgResponse>), ApiError> {
    let org = state
        .store()
        .create_organization(NewOrganization {
            id: Uuid::now_v7(),
            name: org_name(&req.name)?,
            owner: account.user_id,
            now: Utc::now(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgResponse::new(org, Role::Owner)),
    ))
}

/// An organization the caller belongs to.
#[utoipa::path(get, path = "/api/orgs/{id}", tag = "organizations", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrgResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_org(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<OrgResponse>, ApiError> {
    let org = state
        .store()
        .get_organization(auth.org_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(OrgResponse::new(org, auth.role)))
}

/// Rename the organization or change its settings (owners).
#[utoipa::path(put, path = "/api/orgs/{id}", tag = "organizations", params(("id" = Uuid, Path)), request_body = UpdateOrg,
    responses((status = 200, body = OrgResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "requiring MFA without having it"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_org(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<UpdateOrg>,
) -> Result<Json<OrgResponse>, ApiError> {
    let update = OrganizationUpdate {
        name: req.name.as_deref().map(org_name).transpose()?,
        require_mfa: req.require_mfa,
    };
    if req.require_mfa == Some(true) {
        // Whoever turns it on must not lock themselves out.
        let me = state
            .store()
            .get_user(auth.user_id)
            .await?
            .ok_or(ApiError::NotFound)?;
        if !me.mfa_enabled {
            return Err(ApiError::Conflict(
                "enable multi-factor authentication on your own account before requiring it".into(),
            ));
        }
    }
    let org = state
        .store()
        .update_organization(auth.org_id, update, Utc::now())
        .await?;
    Ok(Json(OrgResponse::new(org, auth.role)))
}

/// Leave the organization (its last owner cannot).
#[utoipa::path(post, path = "/api/orgs/{id}/leave", tag = "organizations", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the last owner")),
    security(("bearer" = [])))]
async fn leave_org(State(state): State<AppState>, auth: AuthUser) -> Result<StatusCode, ApiError> {
    membership_change(
        state
            .store()
            .remove_member(auth.org_id, auth.user_id)
            .await?,
    )?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organization's members, by join date.
#[utoipa::path(get, path = "/api/orgs/{id}/members", tag = "organizations", params(("id" = Uuid, Path)),
    responses((status = 200, body = MemberList), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_members(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<MemberList>, ApiError> {
    let rows = state.store().list_members(auth.org_id).await?;
    Ok(Json(MemberList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Add an existing account as a member (admins; only owners add owners).
#[utoipa::path(post, path = "/api/orgs/{id}/members", tag = "organizations", params(("id" = Uuid, Path)), request_body = AddMember,
    responses((status = 201, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already a member"), (status = 422, body = ErrorBody, description = "no account has this email")),
    security(("bearer" = [])))]
async fn add_member(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<AddMember>,
) -> Result<(StatusCode, Json<MemberResponse>), ApiError> {
    check_owner_rule(&auth, &[req.role])?;
    let store = state.store();
    let user = store
        .find_user_by_email(&normalize_email(&req.email))
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "email",
                "no account has this email; send an invitation instead",
            )
        })?;
    let member = store
        .add_member(auth.org_id, user.id, req.role, Utc::now())
        .await?;
    Ok((StatusCode::CREATED, Json(member.into())))
}

/// Change a member's role (admins; only owners touch the owner role; the last owner stays).
#[utoipa::path(put, path = "/api/orgs/{id}/members/{user_id}", tag = "organizations",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = ChangeMember,
    responses((status = 200, body = MemberResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last owner")),
    security(("bearer" = [])))]
async fn change_member(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<ChangeMember>,
) -> Result<Json<MemberResponse>, ApiError> {
    let user_id = path.1;
    let store = state.store();
    let member = store
        .get_member(auth.org_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    check_owner_rule(&auth, &[member.role, req.role])?;
    membership_change(
        store
            .set_member_role(auth.org_id, user_id, req.role, Utc::now())
            .await?,
    )?;
    let member = store
        .get_member(auth.org_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(member.into()))
}

/// Remove a member (admins; only owners remove owners; the last owner stays). Their API keys
/// in the organization stop working.
#[utoipa::path(delete, path = "/api/orgs/{id}/members/{user_id}", tag = "organizations",
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the last owner")),
    security(("bearer" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let user_id = path.1;
    let store = state.store();
    let member = store
        .get_member(auth.org_id, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    check_owner_rule(&auth, &[member.role])?;
    membership_change(store.remove_member(auth.org_id, user_id).await?)?;
    Ok(StatusCode::NO_CONTENT)
}
