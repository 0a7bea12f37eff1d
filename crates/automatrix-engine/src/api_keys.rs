//! API keys: bearer credentials (`amx_…`) with which a program acts for the user who created
//! the key, in the organization it was created in. A key is made here, handed out once, and kept only as
//! its SHA-256 hash ([`token_hash`]); a bearer that starts with [`API_KEY_PREFIX`] is looked up
//! by that hash ([`Engine::authenticate_api_key`]). What a key may do is the API's access policy.

use automatrix_core::{Problem, Role};
use automatrix_store::{ApiKey, NewApiKey};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::name_taken;
use crate::tokens::{random_token, token_hash};
use crate::{Engine, EngineError};

/// How every API key starts, and how a bearer is told to be one rather than an access token.
pub const API_KEY_PREFIX: &str = "amx_";

/// How many leading characters of a key are kept and shown to tell keys apart: the marker and
/// six random characters (36 bits), `amx_3fK9x2`.
const SHOWN_CHARS: usize = API_KEY_PREFIX.len() + 6;

/// The longest name, in characters.
const NAME_MAX_CHARS: usize = 100;

/// How fresh `last_used_at` is kept: a key in steady use is written at most once per this,
/// not on every request.
pub const LAST_USED_PRECISION: TimeDelta = TimeDelta::minutes(1);

/// An API key to create.
#[derive(Clone, Debug)]
pub struct NewApiKeyRequest {
    /// 1 to 100 characters (trimmed); unique in the organization.
    pub name: String,
    /// One of `owner`, `admin`, `editor`, `viewer`.
    pub role: String,
    /// When the key stops working; in the future. `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key just created: its row, and the key itself, which exists nowhere else. Show it once.
#[derive(Clone)]
pub struct CreatedApiKey {
    pub row: ApiKey,
    pub key: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("row", &self.row)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// Whether `bearer` is meant as an API key (it may still be unknown, deleted or expired).
pub fn is_api_key(bearer: &str) -> bool {
    bearer.starts_with(API_KEY_PREFIX)
}

/// Every problem of `req` as of `now`, with its path; the name trimmed and the role parsed
/// when there are none.
fn check(req: &NewApiKeyRequest, now: DateTime<Utc>) -> Result<(String, Role), EngineError> {
    let mut problems = Vec::new();
    let mut problem = |path: &str, issue: String| {
        problems.push(Problem {
            path: path.to_owned(),
            issue,
        });
    };
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        problem("name", format!("must be 1 to {NAME_MAX_CHARS} characters"));
    }
    let role = Role::named(&req.role);
    if role.is_none() {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        problem("role", format!("must be one of {}", names.join(", ")));
    }
    if req.expires_at.is_some_and(|at| at <= now) {
        problem("expires_at", "must be in the future".to_owned());
    }
    match role {
        Some(role) if problems.is_empty() => Ok((name.to_owned(), role)),
        _ => Err(EngineError::InvalidApiKey(problems)),
    }
}

impl Engine {
    /// Creates an API key of `org` that acts as `user`. `InvalidApiKey` lists every problem
    /// (`name`, `role`, `expires_at`); `Conflict` when the name is taken.
    pub async fn create_api_key(
        &self,
        org: Uuid,
        user: Uuid,
        req: NewApiKeyRequest,
    ) -> Result<CreatedApiKey, EngineError> {
        let now = Utc::now();
        let (name, role) = check(&req, now)?;
        let key = format!("{API_KEY_PREFIX}{}", random_token());
        let new = NewApiKey {
            id: Uuid::now_v7(),
            organization_id: org,
            user_id: user,
            name,
            role,
            prefix: key[..SHOWN_CHARS].to_owned(),
            key_hash: token_hash(&key),
            expires_at: req.expires_at,
            now,
        };
        let row = self.store().create_api_key(new).await.map_err(name_taken)?;
        Ok(CreatedApiKey { row, key })
    }

    /// The key `key` names, if it exists and has not expired at `now`; its use is recorded
    /// (at most once per [`LAST_USED_PRECISION`]). `None` for an unknown, deleted or expired
    /// key. The key is looked up by its hash: comparing hashes of 256-bit secrets reveals
    /// nothing a timing could exploit.
    pub async fn authenticate_api_key(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ApiKey>, EngineError> {
        let Some(row) = self.store().find_api_key(&token_hash(key)).await? else {
            return Ok(None);
        };
        if row.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let since = now - LAST_USED_PRECISION;
        if row.last_used_at.is_none_or(|at| at < since) {
            // Bookkeeping: a failed write must not refuse a valid key.
            if let Err(e) = self.store().record_api_key_use(row.id, now, since).await {
                tracing::warn!(api_key_id = %row.id, error = %e, "recording an API key's use");
            }
        }
        Ok(Some(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str, role: &str, expires_at: Option<DateTime<Utc>>) -> NewApiKeyRequest {
        NewApiKeyRequest {
            name: name.to_owned(),
            role: role.to_owned(),
            expires_at,
        }
    }

    fn paths(result: Result<(String, Role), EngineError>) -> Vec<String> {
        match result {
            Err(EngineError::InvalidApiKey(problems)) => {
                problems.into_iter().map(|p| p.path).collect()
            }
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_request_gives_the_trimmed_name_and_the_role() {
        let now = Utc::now();
        let ok = check(
            &request("  Zapier ", "viewer", Some(now + TimeDelta::days(1))),
            now,
        );
        assert_eq!(ok.unwrap(), ("Zapier".to_owned(), Role::Viewer));
        assert!(check(&request(&"n".repeat(100), "owner", None), now).is_ok());
    }

    #[test]
    fn every_problem_is_listed_with_its_path() {
        let now = Utc::now();
        let all = check(&request(" ", "root", Some(now)), now);
        assert_eq!(paths(all), ["name", "role", "expires_at"]);
        assert_eq!(
            paths(check(&request(&"n".repeat(101), "Admin", None), now)),
            ["name", "role"]
        );
    }

    #[test]
    fn only_a_bearer_with_the_marker_is_taken_for_an_api_key() {
        assert!(is_api_key("amx_3fK9x2abc"));
        assert!(!is_api_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
        assert_eq!(SHOWN_CHARS, "amx_3fK9x2".len());
    }
}
