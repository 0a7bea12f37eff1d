-- The audit log: an append-only record of every change made through the API and of every
-- sign-in. No foreign keys: an entry outlives the user, key or organization it names. Triggers
-- refuse updates and deletes, so the log cannot be edited through the database either
-- (short of dropping them, which needs schema rights the server's role should not have).
--
-- `organization_id` is null for account actions (a sign-in, a password change); an
-- organization's log shows those of its members. Entries are listed newest first by `id`
-- (UUIDv7, time-ordered), which is also the page cursor.
create table audit_log (
    id blob primary key,
    organization_id blob,
    actor_id blob,
    api_key_id blob,
    action text not null,
    target text,
    ip text,
    created_at text not null
) strict;

create index audit_log_organization_idx on audit_log (organization_id, id);
create index audit_log_actor_idx on audit_log (actor_id, id);

create trigger audit_log_no_update before update on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;

create trigger audit_log_no_delete before delete on audit_log
begin
    select raise(abort, 'the audit log is append-only');
end;
