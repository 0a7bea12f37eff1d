//! The roles a caller can hold in an organization: a member has one, an API key carries one
//! (and acts with the lesser of it and its creator's). What each role may do is the API's
//! access policy (docs/security.md).

use serde::{Deserialize, Serialize};

/// `owner`, `admin`, `editor` or `viewer`, from most to least trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Editor,
    Viewer,
}

impl Role {
    pub const ALL: [Self; 4] = [Self::Owner, Self::Admin, Self::Editor, Self::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    /// How far the role is trusted: owner 3 … viewer 0.
    fn rank(self) -> u8 {
        match self {
            Self::Owner => 3,
            Self::Admin => 2,
            Self::Editor => 1,
            Self::Viewer => 0,
        }
    }

    /// Whether a holder of this role may do what needs `needed` (a role allows everything the
    /// roles below it allow).
    pub fn allows(self, needed: Self) -> bool {
        self.rank() >= needed.rank()
    }

    /// The less trusted of the two.
    pub fn least(self, other: Self) -> Self {
        if self.allows(other) { other } else { self }
    }

    /// The role called `name` (exactly, lower case), if there is one.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// How a stored role is read back (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::named(&s).ok_or_else(|| format!("unknown role `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_read_back_from_its_name_and_nothing_else() {
        for role in Role::ALL {
            assert_eq!(Role::try_from(role.as_str().to_owned()), Ok(role));
        }
        assert_eq!(Role::named("Owner"), None);
        assert_eq!(Role::named("superuser"), None);
    }

    #[test]
    fn a_role_allows_what_the_roles_below_it_allow() {
        assert!(Role::Owner.allows(Role::Viewer) && Role::Admin.allows(Role::Admin));
        assert!(!Role::Editor.allows(Role::Admin) && !Role::Viewer.allows(Role::Editor));
        assert_eq!(Role::Admin.least(Role::Editor), Role::Editor);
        assert_eq!(Role::Viewer.least(Role::Owner), Role::Viewer);
    }
}
