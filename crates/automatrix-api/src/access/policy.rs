//! The access policy: who may call each route, and what the audit log calls a change made
//! through it. Every route of the API has exactly one entry here; a route without one answers
//! 500 (and the permission-matrix test fails), so a new endpoint cannot be left open by
//! forgetting it. docs/security.md shows this table (generated from it).

use automatrix_core::Role;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-up, login, webhooks, health.
    Public,
    /// Anyone; a bearer, when one is sent, must be valid and names the caller (accepting an
    /// invitation: a new account needs none, an existing one signs in).
    OptionalAccount,
    /// A signed-in user acting on their own account (not an API key); no organization.
    Account,
    /// A member of the request's organization (`X-Organization-Id`, else their first) with at
    /// least this role; an API key acts in its own organization with the lesser of its role
    /// and its creator's.
    Member(Role),
    /// A member of the organization named in the path (`/api/orgs/{id}/…`) with at least this
    /// role; anyone else gets 404.
    OrgMember(Role),
    /// A WebSocket opened with a one-use ticket (`?ticket=` from `POST /api/auth/ws-ticket`)
    /// of a member with at least this role, who acts in the ticket's organization.
    Ticket(Role),
}

/// One route's rule.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    /// The audit log's name for a successful call (`workflow.create`); `None`: the route
    /// changes nothing worth recording (reads), or records itself (sign-ins).
    pub audit: Option<&'static str>,
}

const fn rule(
    method: &'static str,
    path: &'static str,
    access: Access,
    audit: Option<&'static str>,
) -> Rule {
    Rule {
        method,
        path,
        access,
        audit,
    }
}

use Access::{Account, Member, OptionalAccount, OrgMember, Public, Ticket};
use Role::{Admin, Editor, Owner, Viewer};

/// Every route. Reads need a viewer; creating, editing and running workflows an editor;
/// members, credentials, API keys, AI routes and budgets an admin; the organization itself an
/// owner (its name, MFA requirement and single sign-on domains; admins may read the latter).
pub const RULES: &[Rule] = &[
    rule("POST", "/api/auth/register", Public, None),
    rule("POST", "/api/auth/login", Public, None),
    rule("POST", "/api/auth/refresh", Public, None),
    rule("POST", "/api/auth/logout", Account, Some("auth.logout")),
    rule("GET", "/api/auth/me", Account, None),
    rule(
        "POST",
        "/api/auth/change-password",
        Account,
        Some("auth.password_change"),
    ),
    rule("POST", "/api/auth/mfa/setup", Account, Some("mfa.setup")),
    rule("POST", "/api/auth/mfa/enable", Account, Some("mfa.enable")),
    rule("POST", "/api/auth/mfa/verify", Public, None),
    rule(
        "POST",
        "/api/auth/mfa/disable",
        Account,
        Some("mfa.disable"),
    ),
    rule("GET", "/api/auth/sessions", Account, None),
    rule(
        "DELETE",
        "/api/auth/sessions/{id}",
        Account,
        Some("session.revoke"),
    ),
    // Single sign-on: the sign-in records itself (`auth.sso_login`).
    rule("GET", "/api/auth/sso/login", Public, None),
    rule("GET", "/api/auth/sso/callback", Public, None),
    rule("GET", "/api/orgs", Account, None),
    rule("POST", "/api/orgs", Account, Some("organization.create")),
    rule("GET", "/api/orgs/{id}", OrgMember(Viewer), None),
    rule(
        "PUT",
        "/api/orgs/{id}",
        OrgMember(Owner),
        Some("organization.update"),
    ),
    rule(
        "POST",
        "/api/orgs/{id}/leave",
        OrgMember(Viewer),
        Some("member.leave"),
    ),
    rule("GET", "/api/orgs/{id}/sso", OrgMember(Admin), None),
    rule(
        "PUT",
        "/api/orgs/{id}/sso",
        OrgMember(Owner),
        Some("organization.sso_update"),
    ),
    rule("GET", "/api/orgs/{id}/members", OrgMember(Viewer), None),
    rule(
        "POST",
        "/api/orgs/{id}/members",
        OrgMember(Admin),
        Some("member.add"),
    ),
    rule(
        "PUT",
        "/api/orgs/{id}/members/{user_id}",
        OrgMember(Admin),
        Some("member.role_change"),
    ),
    rule(
        "DELETE",
        "/api/orgs/{id}/members/{user_id}",
        OrgMember(Admin),
        Some("member.remove"),
    ),
    rule("GET", "/api/orgs/{id}/invitations", OrgMember(Admin), None),
    rule(
        "POST",
        "/api/orgs/{id}/invitations",
        OrgMember(Admin),
        Some("invitation.create"),
    ),
    rule(
        "DELETE",
        "/api/orgs/{id}/invitations/{invitation_id}",
        OrgMember(Admin),
        Some("invitation.delete"),
    ),
    rule(
        "POST",
        "/api/invitations/{token}/accept",
        OptionalAccount,
        None,
    ),
    rule("GET", "/api/workflows", Member(Viewer), None),
    rule(
        "POST",
        "/api/workflows",
        Member(Editor),
        Some("workflow.create"),
    ),
    rule("GET", "/api/workflows/{id}", Member(Viewer), None),
    rule(
        "PUT",
        "/api/workflows/{id}",
        Member(Editor),
        Some("workflow.update"),
    ),
    rule(
        "DELETE",
        "/api/workflows/{id}",
        Member(Editor),
        Some("workflow.delete"),
    ),
    rule(
        "POST",
        "/api/workflows/{id}/execute",
        Member(Editor),
        Some("workflow.execute"),
    ),
    rule(
        "GET",
        "/api/workflows/{id}/executions",
        Member(Viewer),
        None,
    ),
    rule("GET", "/api/workflows/{id}/versions", Member(Viewer), None),
    rule(
        "GET",
        "/api/workflows/{id}/versions/{version}",
        Member(Viewer),
        None,
    ),
    rule(
        "GET",
        "/api/workflows/{id}/versions/{version}/diff",
        Member(Viewer),
        None,
    ),
    rule(
        "POST",
        "/api/workflows/{id}/versions/{version}/restore",
        Member(Editor),
        Some("workflow.restore"),
    ),
    rule("GET", "/api/workflows/{id}/export", Member(Viewer), None),
    rule("POST", "/api/workflows/validate", Member(Editor), None),
    rule(
        "POST",
        "/api/workflows/import",
        Member(Editor),
        Some("workflow.import"),
    ),
    rule("GET", "/api/executions", Member(Viewer), None),
    rule("GET", "/api/executions/{id}", Member(Viewer), None),
    rule("GET", "/api/executions/{id}/logs", Member(Viewer), None),
    rule(
        "POST",
        "/api/executions/{id}/cancel",
        Member(Editor),
        Some("execution.cancel"),
    ),
    rule(
        "POST",
        "/api/executions/{id}/retry",
        Member(Editor),
        Some("execution.retry"),
    ),
    rule(
        "POST",
        "/api/executions/{id}/steps/{node_id}/approve",
        Member(Editor),
        Some("execution.approve"),
    ),
    rule(
        "POST",
        "/api/executions/{id}/steps/{node_id}/reject",
        Member(Editor),
        Some("execution.reject"),
    ),
    rule("GET", "/api/metrics/summary", Member(Viewer), None),
    rule("GET", "/api/credentials", Member(Viewer), None),
    rule(
        "POST",
        "/api/credentials",
        Member(Admin),
        Some("credential.create"),
    ),
    rule("GET", "/api/credentials/{id}", Member(Viewer), None),
    rule(
        "PUT",
        "/api/credentials/{id}",
        Member(Admin),
        Some("credential.update"),
    ),
    rule(
        "DELETE",
        "/api/credentials/{id}",
        Member(Admin),
        Some("credential.delete"),
    ),
    rule("GET", "/api/credential-types", Public, None),
    rule("GET", "/api/api-keys", Member(Admin), None),
    rule(
        "POST",
        "/api/api-keys",
        Member(Admin),
        Some("api_key.create"),
    ),
    rule(
        "DELETE",
        "/api/api-keys/{id}",
        Member(Admin),
        Some("api_key.delete"),
    ),
    rule("GET", "/api/ai/routes", Member(Viewer), None),
    rule("GET", "/api/ai/routes/{alias}", Member(Viewer), None),
    rule(
        "PUT",
        "/api/ai/routes/{alias}",
        Member(Admin),
        Some("ai_route.put"),
    ),
    rule(
        "DELETE",
        "/api/ai/routes/{alias}",
        Member(Admin),
        Some("ai_route.delete"),
    ),
    rule("GET", "/api/ai/usage", Member(Viewer), None),
    rule("GET", "/api/ai/budget", Member(Viewer), None),
    rule(
        "PUT",
        "/api/ai/budget",
        Member(Admin),
        Some("ai_budget.put"),
    ),
    rule("POST", "/api/ai/v1/chat/completions", Member(Editor), None),
    rule("GET", "/api/templates", Member(Viewer), None),
    rule(
        "POST",
        "/api/templates",
        Member(Editor),
        Some("template.create"),
    ),
    rule("GET", "/api/templates/{id}", Member(Viewer), None),
    rule(
        "PUT",
        "/api/templates/{id}",
        Member(Editor),
        Some("template.update"),
    ),
    rule(
        "DELETE",
        "/api/templates/{id}",
        Member(Editor),
        Some("template.delete"),
    ),
    rule(
        "POST",
        "/api/templates/{id}/instantiate",
        Member(Editor),
        Some("template.instantiate"),
    ),
    rule("GET", "/api/node-types", Member(Viewer), None),
    rule("GET", "/api/audit-log", Member(Admin), None),
    rule("POST", "/api/auth/ws-ticket", Member(Viewer), None),
    rule("GET", "/ws/executions/{id}", Ticket(Viewer), None),
    rule("GET", "/ws/workflows/{id}/status", Ticket(Viewer), None),
    rule("GET", "/ws/notifications", Ticket(Viewer), None),
    rule("GET", "/ws/metrics", Ticket(Viewer), None),
    rule("GET", "/health", Public, None),
    rule("GET", "/health/live", Public, None),
    rule("GET", "/health/ready", Public, None),
    // Public to the access check; AUTOMATRIX_METRICS_TOKEN, when set, is checked by the route.
    rule("GET", "/metrics", Public, None),
    rule("GET", "/hooks/{token}", Public, None),
    rule("POST", "/hooks/{token}", Public, None),
    rule("PUT", "/hooks/{token}", Public, None),
    rule("PATCH", "/hooks/{token}", Public, None),
    rule("DELETE", "/hooks/{token}", Public, None),
];

/// The rule of `method` on the route `path` (its template, as routed).
pub fn rule_for(method: &str, path: &str) -> Option<&'static Rule> {
    use std::collections::HashMap;
    use std::sync::LazyLock;
    static INDEX: LazyLock<HashMap<(&str, &str), &Rule>> =
        LazyLock::new(|| RULES.iter().map(|r| ((r.method, r.path), r)).collect());
    INDEX.get(&(method, path)).copied()
}

/// The table as docs/security.md shows it.
#[cfg(test)]
fn markdown() -> String {
    let mut out =
        String::from("| Method | Route | Who may call it | Audit action |\n|---|---|---|---|\n");
    for r in RULES {
        let who = match r.access {
            Access::Public => "anyone".to_owned(),
            Access::OptionalAccount => "anyone (a bearer, if sent, names the account)".to_owned(),
            Access::Account => "a signed-in user (not an API key)".to_owned(),
            Access::Member(Role::Owner) | Access::OrgMember(Role::Owner) => "owner".to_owned(),
            Access::Member(role) | Access::OrgMember(role) => format!("{} or above", role.as_str()),
            Access::Ticket(role) => format!("{} or above, with a WebSocket ticket", role.as_str()),
        };
        let audit = r.audit.map_or(String::new(), |a| format!("`{a}`"));
        out.push_str(&format!(
            "| {} | `{}` | {who} | {audit} |\n",
            r.method, r.path
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/security.md");
    const START: &str =
        "<!-- access rules: generated from crates/automatrix-api/src/access/policy.rs -->\n";
    const END: &str = "<!-- end of access rules -->";

    /// docs/security.md shows the table as it is; `AUTOMATRIX_BLESS=1` rewrites it.
    #[test]
    fn the_security_doc_shows_the_table() {
        let doc = std::fs::read_to_string(DOC).expect("docs/security.md");
        let start = doc.find(START).expect("the start marker") + START.len();
        let end = doc.find(END).expect("the end marker");
        let table = markdown();
        if std::env::var_os("AUTOMATRIX_BLESS").is_some() {
            let updated = format!("{}{table}{}", &doc[..start], &doc[end..]);
            std::fs::write(DOC, updated).expect("write docs/security.md");
            return;
        }
        assert_eq!(
            &doc[start..end],
            table,
            "docs/security.md is out of date: AUTOMATRIX_BLESS=1 cargo test -p automatrix-api --lib"
        );
    }

    #[test]
    fn each_route_has_one_rule() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert_eq!(rule_for(r.method, r.path).map(|x| x.path), Some(r.path));
        }
    }

    /// The policy in words (docs/security.md), checked against the table: viewers read;
    /// editors create, edit and run workflows; admins manage members, credentials, API keys,
    /// AI routes and budgets; owners manage the organization.
    #[test]
    fn the_table_keeps_the_stated_policy() {
        let admin_reads = [
            "/api/api-keys",
            "/api/audit-log",
            "/api/orgs/{id}/invitations",
            "/api/orgs/{id}/sso",
        ];
        let admin_writes = [
            "/api/orgs/{id}/members",
            "/api/orgs/{id}/invitations",
            "/api/credentials",
            "/api/api-keys",
            "/api/ai/routes",
            "/api/ai/budget",
        ];
        let editor_writes = ["/api/workflows", "/api/executions", "/api/templates"];
        for r in RULES {
            let needed = match r.access {
                Access::Member(role) | Access::OrgMember(role) | Access::Ticket(role) => role,
                _ => continue,
            };
            let under = |prefixes: &[&str]| prefixes.iter().any(|p| r.path.starts_with(p));
            let expected = if r.method == "GET" {
                if admin_reads.contains(&r.path) {
                    Admin
                } else {
                    Viewer
                }
            } else if r.path == "/api/orgs/{id}" || r.path == "/api/orgs/{id}/sso" {
                Owner
            } else if under(&admin_writes) {
                Admin
            } else if under(&editor_writes) || r.path == "/api/ai/v1/chat/completions" {
                Editor
            } else if r.path == "/api/orgs/{id}/leave" || r.path == "/api/auth/ws-ticket" {
                Viewer
            } else {
                panic!(
                    "{} {} is not covered by the stated policy",
                    r.method, r.path
                )
            };
            assert_eq!(needed, expected, "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn changes_are_audited_and_reads_are_not() {
        for r in RULES {
            if r.method == "GET" {
                assert!(r.audit.is_none(), "{} {}", r.method, r.path);
            }
        }
    }
}
