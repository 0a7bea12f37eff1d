-- Credentials of an organization: `sealed` is the data encrypted by the engine's vault
-- (nonce and ciphertext); the database never holds it in the clear.
create table credentials (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    name text not null,
    kind text not null,
    sealed blob not null,
    created_at text not null,
    updated_at text not null,
    unique (organization_id, name)
) strict;

-- Each workflow's persistent key-value entries (data.kv): dedupe markers and counters.
create table kv_entries (
    workflow_id blob not null references workflows (id) on delete cascade,
    key text not null,
    organization_id blob not null references organizations (id) on delete cascade,
    value text not null,
    expires_at text,
    created_at text not null,
    updated_at text not null,
    primary key (workflow_id, key)
) strict;
