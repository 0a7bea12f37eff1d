-- An Idempotency-Key a webhook call carried, and the execution it started: a repeat of the key
-- for the same workflow answers with that execution while the key is fresh (24 h).
create table idempotency_keys (
    workflow_id uuid not null references workflows (id) on delete cascade,
    key text not null,
    execution_id uuid not null references executions (id) on delete cascade,
    created_at timestamptz not null,
    primary key (workflow_id, key)
);

create index idempotency_keys_execution_idx on idempotency_keys (execution_id);
