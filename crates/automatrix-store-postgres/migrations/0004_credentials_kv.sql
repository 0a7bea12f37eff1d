-- Credentials of an organization: `sealed` is the data encrypted by the engine's vault
-- (nonce and ciphertext); the database never holds it in the clear.
create table credentials (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    name text not null,
    kind text not null,
    sealed bytea not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (organization_id, name)
);

-- Each workflow's persistent key-value entries (data.kv): dedupe markers and counters.
create table kv_entries (
    workflow_id uuid not null references workflows (id) on delete cascade,
    key text not null,
    organization_id uuid not null references organizations (id) on delete cascade,
    value jsonb not null,
    expires_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (workflow_id, key)
);
