-- Multi-factor authentication (TOTP), and shared login rate limits.
--
-- `users.mfa_enabled`: whether logging in takes a second factor.
-- `user_mfa`: a user's TOTP secret, sealed by the engine's vault (associated data
-- `automatrix/mfa/v1` + user id); pending until `enabled_at`. `last_step` is the last time
-- step whose code was accepted: a code of that step or an earlier one is refused (no replay).
-- `mfa_recovery_codes`: single-use codes, stored as SHA-256 (hex) of their normalized form.
-- `mfa_challenges`: the second step of a login, by the SHA-256 of its opaque token;
-- short-lived, single-use, attempt-limited, and shared by every API process.
alter table users add column mfa_enabled integer not null default 0 check (mfa_enabled in (0, 1));

create table user_mfa (
    user_id blob primary key references users (id) on delete cascade,
    secret_sealed blob not null,
    enabled_at text,
    last_step integer,
    created_at text not null,
    updated_at text not null
) strict;

create table mfa_recovery_codes (
    id blob primary key,
    user_id blob not null references users (id) on delete cascade,
    code_hash text not null,
    used_at text,
    created_at text not null
) strict;

create index mfa_recovery_codes_user_idx on mfa_recovery_codes (user_id, code_hash);

create table mfa_challenges (
    id blob primary key,
    user_id blob not null references users (id) on delete cascade,
    token_hash text not null unique,
    expires_at text not null,
    attempts integer not null default 0,
    used_at text,
    created_at text not null,
    updated_at text not null
) strict;

create index mfa_challenges_user_idx on mfa_challenges (user_id);
create index mfa_challenges_expires_idx on mfa_challenges (expires_at);

-- Login rate limits shared by every API process (`AUTOMATRIX_LOGIN_LIMITS_SHARED=1`): failures
-- in a row per key (the SHA-256 of an account, client IP or user key) and the lockout they
-- earned. Rows idle past the forget window are deleted by the next attempt.
create table auth_throttle (
    key_hash text primary key,
    failures integer not null,
    last_failure_at text not null,
    locked_until text not null,
    updated_at text not null
) strict;

create index auth_throttle_last_failure_idx on auth_throttle (last_failure_at);
