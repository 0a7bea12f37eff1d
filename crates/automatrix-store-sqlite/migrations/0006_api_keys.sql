-- API keys: bearer credentials (`amx_…`) with which a program acts as the user who created the
-- key, in its organization. Only the SHA-256 hash of a key is stored (`key_hash`, hex; looked
-- up on every use), never the key; `prefix` is its first characters, shown to tell keys apart.
-- `role` is stored and shown but not enforced yet.
create table api_keys (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    user_id blob not null references users (id) on delete cascade,
    name text not null,
    role text not null check (role in ('owner', 'admin', 'editor', 'viewer')),
    prefix text not null,
    key_hash text not null unique,
    expires_at text,
    last_used_at text,
    created_at text not null,
    updated_at text not null,
    unique (organization_id, name)
) strict;

-- Deleting a user deletes their keys (cascade), which looks the keys up by user.
create index api_keys_user_idx on api_keys (user_id);
