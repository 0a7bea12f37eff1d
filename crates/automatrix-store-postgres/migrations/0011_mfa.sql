-- Multi-factor authentication (TOTP), and shared login rate limits.
--
-- `users.mfa_enabled`: whether logging in takes a second factor.
-- `user_mfa`: a user's TOTP secret, sealed by the engine's vault (associated data
-- `automatrix/mfa/v1` + user id); pending until `enabled_at`. `last_step` is the last time
-- step whose code was accepted: a code of that step or an earlier one is refused (no replay).
-- `mfa_recovery_codes`: single-use codes, stored as SHA-256 (hex) of their normalized form.
-- `mfa_challenges`: the second step of a login, by the SHA-256 of its opaque token;
-- short-lived, single-use, attempt-limited, and shared by every API process.
alter table users add column mfa_enabled boolean not null default false;

create table user_mfa (
    user_id uuid primary key references users (id) on delete cascade,
    secret_sealed bytea not null,
    enabled_at timestamptz,
    last_step bigint,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table mfa_recovery_codes (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    code_hash text not null,
    used_at timestamptz,
    created_at timestamptz not null
);

create index mfa_recovery_codes_user_idx on mfa_recovery_codes (user_id, code_hash);

create table mfa_challenges (
    id uuid primary key,
    user_id uuid not null references users (id) on delete cascade,
    token_hash text not null unique,
    expires_at timestamptz not null,
    attempts integer not null default 0,
    used_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index mfa_challenges_user_idx on mfa_challenges (user_id);
create index mfa_challenges_expires_idx on mfa_challenges (expires_at);

-- Login rate limits shared by every API process (`AUTOMATRIX_LOGIN_LIMITS_SHARED=1`): failures
-- in a row per key (the SHA-256 of an account, client IP or user key) and the lockout they
-- earned. Rows idle past the forget window are deleted by the next attempt.
create table auth_throttle (
    key_hash text primary key,
    failures integer not null,
    last_failure_at timestamptz not null,
    locked_until timestamptz not null,
    updated_at timestamptz not null
);

create index auth_throttle_last_failure_idx on auth_throttle (last_failure_at);
