-- AutoMatrix schema, SQLite dialect. Mirrors the PostgreSQL migration column for column.
--
-- Types are what sqlx-sqlite encodes and decodes for the row models: uuids are 16-byte blobs,
-- timestamps are RFC 3339 UTC text (always bound from Rust, so they compare as text), JSON is
-- text, booleans and bigints are integers. Tables are STRICT so that a value bound with the
-- wrong type (a uuid as text, say) fails loudly instead of silently never matching.
--
-- Tenancy: every tenant table's `organization_id` references its organization (on delete
-- cascade), so no row can name a tenant that does not exist. Only workflows and executions are
-- indexed by it, for their lists; nothing deletes an organization yet, and a delete would want
-- indexes on workflow_versions, steps and jobs too (each cascade looks its rows up by it).

create table organizations (
    id blob primary key,
    name text not null,
    created_at text not null,
    updated_at text not null
) strict;

create table users (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    email text not null,
    name text not null,
    password_hash text not null,
    created_at text not null,
    updated_at text not null
) strict;

create unique index users_email_lower_key on users (lower(email));
create index users_organization_idx on users (organization_id);

create table refresh_tokens (
    id blob primary key,
    user_id blob not null references users (id) on delete cascade,
    family_id blob not null,
    token_hash text not null,
    expires_at text not null,
    used_at text,
    revoked_at text,
    created_at text not null,
    updated_at text not null
) strict;

create unique index refresh_tokens_hash_key on refresh_tokens (token_hash);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

create table workflows (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    name text not null,
    description text not null default '',
    definition text not null,
    version integer not null,
    is_active integer not null check (is_active in (0, 1)),
    webhook_token text,
    created_by blob references users (id) on delete set null,
    created_at text not null,
    updated_at text not null
) strict;

create index workflows_organization_idx on workflows (organization_id, id desc);
create unique index workflows_webhook_token_key on workflows (webhook_token)
    where webhook_token is not null;
create index workflows_created_by_idx on workflows (created_by) where created_by is not null;

create table workflow_versions (
    workflow_id blob not null references workflows (id) on delete cascade,
    organization_id blob not null references organizations (id) on delete cascade,
    version integer not null,
    definition text not null,
    created_by blob references users (id) on delete set null,
    created_at text not null,
    updated_at text not null,
    primary key (workflow_id, version)
) strict;

create table executions (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    workflow_id blob not null references workflows (id) on delete cascade,
    workflow_version integer not null,
    status text not null
        check (status in ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled')),
    input_data text not null,
    output_data text,
    error_message text,
    dry_run integer not null default 0 check (dry_run in (0, 1)),
    started_at text,
    completed_at text,
    created_at text not null,
    updated_at text not null,
    -- The pinned version must exist; it goes when its workflow goes.
    foreign key (workflow_id, workflow_version)
        references workflow_versions (workflow_id, version) on delete cascade
) strict;

create index executions_organization_idx on executions (organization_id, id desc);
create index executions_organization_workflow_idx on executions (organization_id, workflow_id, id);
create index executions_organization_status_idx on executions (organization_id, status, id);
-- Retention: finished executions oldest first.
create index executions_completed_idx on executions (completed_at) where completed_at is not null;
-- Serves the foreign keys when a workflow is deleted.
create index executions_workflow_version_idx on executions (workflow_id, workflow_version);

create table steps (
    execution_id blob not null references executions (id) on delete cascade,
    organization_id blob not null references organizations (id) on delete cascade,
    node_id text not null,
    node_type text not null,
    status text not null
        check (status in ('pending', 'running', 'completed', 'failed', 'skipped', 'waiting', 'cancelled')),
    attempt integer not null,
    input_data text,
    output_data text,
    output_port text,
    error_message text,
    started_at text,
    completed_at text,
    duration_ms integer,
    created_at text not null,
    updated_at text not null,
    -- One row per attempt: a retried step keeps the history of every try.
    primary key (execution_id, node_id, attempt)
) strict;

create table jobs (
    id blob primary key,
    execution_id blob not null unique references executions (id) on delete cascade,
    organization_id blob not null references organizations (id) on delete cascade,
    -- Null while the execution waits for an approval with no deadline: never due.
    run_at text,
    locked_by text,
    locked_until text,
    lease_token blob,
    claims integer not null default 0,
    created_at text not null,
    updated_at text not null
) strict;

-- Claim: due jobs that were never leased, oldest first ...
create index jobs_due_idx on jobs (run_at, id) where locked_until is null;
-- ... and jobs whose lease expired (crash recovery).
create index jobs_lease_idx on jobs (locked_until) where locked_until is not null;
