-- API keys: bearer credentials (`amx_…`) with which a program acts as the user who created the
-- key, in its organization. Only the SHA-256 hash of a key is stored (`key_hash`, hex; looked
-- up on every use), never the key; `prefix` is its first characters, shown to tell keys apart.
-- `role` is stored and shown but not enforced yet.
create table api_keys (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    user_id uuid not null references users (id) on delete cascade,
    name text not null,
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    prefix text not null,
    key_hash text not null unique,
    expires_at timestamptz,
    last_used_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    unique (organization_id, name)
);

-- Deleting a user deletes their keys (cascade), which looks the keys up by user.
create index api_keys_user_idx on api_keys (user_id);
