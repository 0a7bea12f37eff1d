-- The next tick of each workflow whose trigger is a schedule. A scheduler fires a tick by
-- moving next_run_at from the tick it read to the following one: of several schedulers, the
-- one whose update matched fires it.
create table schedules (
    workflow_id blob primary key references workflows (id) on delete cascade,
    organization_id blob not null references organizations (id) on delete cascade,
    next_run_at text not null,
    created_at text not null,
    updated_at text not null
) strict;

create index schedules_due_idx on schedules (next_run_at);
