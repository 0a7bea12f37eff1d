//! Invitations: an admin invites an email address with a role; the invitation's one-time token
//! (in the creation's answer only, stored hashed) goes to that person, who accepts it, creating
//! an account or, with an existing one, signed in as it.

use automatrix_core::Role;
use automatrix_engine::{random_token, token_hash};
use automatrix_store::{Invitation, InvitedUser, NewInvitation, StoreError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::check_owner_rule;
use crate::access::{Account, AuthUser};
use crate::audit::{self, Actor};
use crate::auth::{
    TokenResponse, check_password, hash_password, issue_tokens, normalize_email, valid_email,
};
use crate::client_ip::ClientIp;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, OptionalJson};
use crate::state::AppState;

/// How long an invitation stays open.
const INVITATION_TTL: Duration = Duration::days(7);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(delete_invitation))
        .routes(routes!(accept_invitation))
}

#[derive(Serialize, ToSchema)]
pub struct InvitationResponse {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationResponse {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
            expires_at: i.expires_at,
            created_at: i.created_at,
        }
    }
}

/// An invitation just made, with its token: shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct CreatedInvitation {
    #[serde(flatten)]
    pub invitation: InvitationResponse,
    /// Send it to the invitee: `POST /api/invitations/{token}/accept`. It cannot be shown again.
    pub token: String,
}

#[derive(Serialize, ToSchema)]
pub struct InvitationList {
    pub items: Vec<InvitationResponse>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    pub role: Role,
}

/// For a new account: its name and password. With an existing account: nothing (sign in and
/// send its bearer).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub name: Option<String>,
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedInvitation {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    /// For a new account, its first tokens (it is signed in); null for an existing one.
    pub tokens: Option<TokenResponse>,
}

/// The organization's open invitations, newest first (admins).
#[utoipa::path(get, path = "/api/orgs/{id}/invitations", tag = "organizations", params(("id" = Uuid, Path)),
    responses((status = 200, body = InvitationList), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_invitations(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<InvitationList>, ApiError> {
    let rows = state
        .store()
        .list_invitations(auth.org_id, Utc::now())
        .await?;
    Ok(Json(InvitationList {
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

/// Invite an email address with a role (admins; only owners invite owners). The answer holds
/// the one-time token; it is valid for 7 days.
#[utoipa::path(post, path = "/api/orgs/{id}/invitations", tag = "organizations", params(("id" = Uuid, Path)),
    request_body = CreateInvitation,
    responses((status = 201, body = CreatedInvitation), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already a member"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_invitation(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(req): ApiJson<CreateInvitation>,
) -> Result<(StatusCode, Json<CreatedInvitation>), ApiError> {
    check_owner_rule(&auth, &[req.role])?;
    let email = normalize_email(&req.email);
    if !valid_email(&email) {
        return Err(ApiError::invalid("email", "must be a valid email address"));
    }
    let store = state.store();
    if let Some(user) = store.find_user_by_email(&email).await?
        && store.get_member(auth.org_id, user.id).await?.is_some()
    {
        return Err(ApiError::Conflict(
            "this address belongs to a member already".into(),
        ));
    }
    let token = random_token();
    let now = Utc::now();
    let invitation = store
        .create_invitation(NewInvitation {
            id: Uuid::now_v7(),
            organization_id: auth.org_id,
            email,
            role: req.role,
            token_hash: token_hash(&token),
            invited_by: auth.user_id,
            expires_at: now + INVITATION_TTL,
            now,
        })
        .await?;
    let body = CreatedInvitation {
        invitation: invitation.into(),
        token,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Withdraw an invitation (admins): its token stops working.
#[utoipa::path(delete, path = "/api/orgs/{id}/invitations/{invitation_id}", tag = "organizations",
    params(("id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_invitation(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiPath(path): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    if state.store().delete_invitation(auth.org_id, path.1).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// What accepting without a bearer gets when the address has an account (found before, or by
/// the insert racing another sign-up).
const HAS_ACCOUNT: &str = "this address has an account: sign in and accept with its bearer";

/// What every unusable token gets: unknown, withdrawn, spent or expired alike.
const CLOSED: &str = "this invitation does not exist, was withdrawn, or has been used or expired";

/// Accept an invitation. Without a bearer it creates the account it was sent to (`name` and
/// `password` required) and signs it in; an address that has an account signs in first and
/// sends its bearer. Works once.
#[utoipa::path(post, path = "/api/invitations/{token}/accept", tag = "organizations", params(("token" = String, Path)),
    request_body(content = AcceptInvitation, description = "for a new account"),
    responses((status = 200, body = AcceptedInvitation, description = "an existing account joined"),
        (status = 201, body = AcceptedInvitation, description = "an account was created"),
        (status = 403, body = ErrorBody, description = "the invitation is for another address"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "the address has an account: sign in"),
        (status = 422, body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    account: Option<Account>,
    ClientIp(ip): ClientIp,
    axum::extract::Path(token): axum::extract::Path<String>,
    OptionalJson(req): OptionalJson<AcceptInvitation>,
) -> Result<(StatusCode, Json<AcceptedInvitation>), ApiError> {
    let store = state.store();
    let now = Utc::now();
    let invitation = store
        .find_invitation(&token_hash(&token))
        .await?
        .filter(|i| i.accepted_at.is_none() && i.expires_at > now)
        .ok_or_else(|| ApiError::Gone(CLOSED.into()))?;
    let (status, user_id, tokens) = match account {
        Some(account) => {
            let user = store
                .get_user(account.user_id)
                .await?
                .ok_or(ApiError::Unauthorized("account no longer exists"))?;
            if normalize_email(&user.email) != invitation.email {
                return Err(ApiError::Forbidden(
                    "this invitation was sent to another address".into(),
                ));
            }
            if !store.accept_invitation(invitation.id, user.id, now).await? {
                return Err(ApiError::Gone(CLOSED.into()));
            }
            (StatusCode::OK, user.id, None)
        }
        None => {
            if store.find_user_by_email(&invitation.email).await?.is_some() {
                return Err(ApiError::Conflict(HAS_ACCOUNT.into()));
            }
            let new = new_account(&invitation, req).await?;
            let user = store
                .accept_invitation_as_new_user(invitation.id, new, now)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => ApiError::Conflict(HAS_ACCOUNT.into()),
                    other => other.into(),
                })?
                .ok_or_else(|| ApiError::Gone(CLOSED.into()))?;
            let tokens = issue_tokens(&state, &user, Uuid::now_v7()).await?;
            (StatusCode::CREATED, user.id, Some(tokens))
        }
    };
    let actor = Actor {
        organization_id: Some(invitation.organization_id),
        user_id: Some(user_id),
        api_key_id: None,
    };
    audit::record(
        &state,
        actor,
        "invitation.accept",
        Some(invitation.id.to_string()),
        ip,
    )
    .await;
    Ok((
        status,
        Json(AcceptedInvitation {
            organization_id: invitation.organization_id,
            user_id,
            role: invitation.role,
            tokens,
        }),
    ))
}

/// The account an invitation creates, from the invitee's name and password.
async fn new_account(
    invitation: &Invitation,
    req: AcceptInvitation,
) -> Result<InvitedUser, ApiError> {
    let mut problems = Vec::new();
    let name = req
        .name
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(automatrix_core::Problem {
            path: "name".into(),
            issue: "must be 1 to 200 characters".into(),
        });
    }
    let password = req.password.unwrap_or_default();
    check_password("password", &password, &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation {
            message: "a new account needs a name and a password".into(),
            details: problems,
        });
    }
    Ok(InvitedUser {
        id: Uuid::now_v7(),
        email: invitation.email.clone(),
        name,
        password_hash: hash_password(password).await?,
    })
}
