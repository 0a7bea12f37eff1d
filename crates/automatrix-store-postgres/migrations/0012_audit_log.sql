-- The audit log: an append-only record of every change made through the API and of every
-- sign-in. No foreign keys: an entry outlives the user, key or organization it names. A trigger
-- refuses updates and deletes (and truncation), so the log cannot be edited through the
-- database either (short of dropping it, which needs schema rights the server's role should
-- not have).
--
-- `organization_id` is null for account actions (a sign-in, a password change); an
-- organization's log shows those of its members. Entries are listed newest first by `id`
-- (UUIDv7, time-ordered), which is also the page cursor.
create table audit_log (
    id uuid primary key,
    organization_id uuid,
    actor_id uuid,
    api_key_id uuid,
    action text not null,
    target text,
    ip text,
    created_at timestamptz not null
);

create index audit_log_organization_idx on audit_log (organization_id, id);
create index audit_log_actor_idx on audit_log (actor_id, id);

create function audit_log_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the audit log is append-only';
end;
$$;

create trigger audit_log_no_change before update or delete on audit_log
    for each row execute function audit_log_append_only();

create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();
