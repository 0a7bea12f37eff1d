-- Single sign-on with OpenID Connect.
--
-- `sso_logins`: one row per sign-in started at `GET /api/auth/sso/login`, so the callback may
-- reach another API process. Only the SHA-256 of the `state` parameter is kept; the PKCE
-- verifier and the nonce are needed to finish and are spent with the row (`used_at`, set once).
create table sso_logins (
    id uuid primary key,
    state_hash text not null unique,
    code_verifier text not null,
    nonce text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index sso_logins_expires_idx on sso_logins (expires_at);

-- The email domains whose verified addresses an organization accepts through single sign-on,
-- and the role an account provisioned that way gets. A domain belongs to one organization.
create table organization_sso_domains (
    domain text primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index organization_sso_domains_organization_idx
    on organization_sso_domains (organization_id);
