//! The roles a caller can hold in an organization. An API key carries one; what each role may
//! do is not enforced yet (every authenticated caller may do everything in its organization).

use serde::Serialize;

/// `owner`, `admin`, `editor` or `viewer`, from most to least trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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
}
