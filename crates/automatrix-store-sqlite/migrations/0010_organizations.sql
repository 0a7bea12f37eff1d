-- Organizations with several members. A membership gives a user a role in an organization;
-- a user may belong to several. `users.organization_id` stays: the organization the account was
-- created into (its own at sign-up, the inviting one for an invited account), not an access
-- rule; access is decided by `memberships` alone.
--
-- `require_mfa`: members without multi-factor authentication are refused the organization's
-- resources until they enable it.
alter table organizations add column require_mfa integer not null default 0
    check (require_mfa in (0, 1));

create table memberships (
    organization_id blob not null references organizations (id) on delete cascade,
    user_id blob not null references users (id) on delete cascade,
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    created_at text not null,
    updated_at text not null,
    primary key (organization_id, user_id)
) strict;

-- A request without X-Organization-Id acts in the user's first organization: the oldest
-- membership, found by this index.
create index memberships_user_idx on memberships (user_id, created_at, organization_id);

-- Every existing account owns the organization it was created with.
insert into memberships (organization_id, user_id, role, created_at, updated_at)
select organization_id, id, 'owner', created_at, created_at from users;

-- An invitation to join an organization, for someone who may not have an account yet. Only the
-- SHA-256 of its one-time token is kept. Accepting it sets `accepted_at` once.
create table invitations (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    email text not null,
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    token_hash text not null unique,
    invited_by blob references users (id) on delete set null,
    expires_at text not null,
    accepted_at text,
    accepted_by blob references users (id) on delete set null,
    created_at text not null,
    updated_at text not null
) strict;

create index invitations_organization_idx on invitations (organization_id, created_at);
create index invitations_invited_by_idx on invitations (invited_by) where invited_by is not null;
create index invitations_accepted_by_idx on invitations (accepted_by) where accepted_by is not null;
