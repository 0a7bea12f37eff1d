-- AutoMatrix schema, PostgreSQL dialect. Mirrors the SQLite migration column for column.
--
-- Timestamps are always bound from Rust (never `now()`), so both dialects see the same clock.
--
-- Tenancy: every tenant table's `organization_id` references its organization (on delete
-- cascade), so no row can name a tenant that does not exist. Only workflows and executions are
-- indexed by it, for their lists; nothing deletes an organization yet, and a delete would want
-- indexes on workflow_versions, steps and jobs too (each cascade looks its rows up by it).

create table organizations (
    id uuid primary key,
    name text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table users (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    email text not null,
    name text not null,
    password_hash text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create unique index users_email_lower_key on users (lower(email));
create index users_organization_idx on users (organization_id);

create table refresh_tokens (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    family_id uuid not null,
    token_hash text not null,
    expires_at timestamptz not null,
    used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create unique index refresh_tokens_hash_key on refresh_tokens (token_hash);
create index refresh_tokens_family_idx on refresh_tokens (family_id);
create index refresh_tokens_user_idx on refresh_tokens (user_id);

create table workflows (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    name text not null,
    description text not null default '',
    definition jsonb not null,
    version bigint not null,
    is_active boolean not null,
    webhook_token text,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index workflows_organization_idx on workflows (organization_id, id desc);
create unique index workflows_webhook_token_key on workflows (webhook_token)
    where webhook_token is not null;
create index workflows_created_by_idx on workflows (created_by) where created_by is not null;

create table workflow_versions (
    workflow_id uuid not null references workflows (id) on delete cascade,
    organization_id uuid not null references organizations (id) on delete cascade,
    version bigint not null,
    definition jsonb not null,
    created_by uuid references users (id) on delete set null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (workflow_id, version)
);

create table executions (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    workflow_id uuid not null references workflows (id) on delete cascade,
    workflow_version bigint not null,
    status text not null
        check (status in ('pending', 'running', 'waiting', 'completed', 'failed', 'cancelled')),
    input_data jsonb not null,
    output_data jsonb,
    error_message text,
    dry_run boolean not null default false,
    started_at timestamptz,
    completed_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- The pinned version must exist; it goes when its workflow goes.
    foreign key (workflow_id, workflow_version)
        references workflow_versions (workflow_id, version) on delete cascade
);

create index executions_organization_idx on executions (organization_id, id desc);
create index executions_organization_workflow_idx on executions (organization_id, workflow_id, id);
create index executions_organization_status_idx on executions (organization_id, status, id);
-- Retention: finished executions oldest first.
create index executions_completed_idx on executions (completed_at) where completed_at is not null;
-- Serves the foreign keys when a workflow is deleted.
create index executions_workflow_version_idx on executions (workflow_id, workflow_version);

create table steps (
    execution_id uuid not null references executions (id) on delete cascade,
    organization_id uuid not null references organizations (id) on delete cascade,
    node_id text not null,
    node_type text not null,
    status text not null
        check (status in ('pending', 'running', 'completed', 'failed', 'skipped', 'waiting', 'cancelled')),
    attempt bigint not null,
    input_data jsonb,
    output_data jsonb,
    output_port text,
    error_message text,
    started_at timestamptz,
    completed_at timestamptz,
    duration_ms bigint,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    -- One row per attempt: a retried step keeps the history of every try.
    primary key (execution_id, node_id, attempt)
);

create table jobs (
    id uuid primary key,
    execution_id uuid not null unique references executions (id) on delete cascade,
    organization_id uuid not null references organizations (id) on delete cascade,
    -- Null while the execution waits for an approval with no deadline: never due.
    run_at timestamptz,
    locked_by text,
    locked_until timestamptz,
    lease_token uuid,
    claims bigint not null default 0,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Claim: due jobs that were never leased, oldest first ...
create index jobs_due_idx on jobs (run_at, id) where locked_until is null;
-- ... and jobs whose lease expired (crash recovery).
create index jobs_lease_idx on jobs (locked_until) where locked_until is not null;
