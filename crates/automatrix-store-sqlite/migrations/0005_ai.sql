-- AI routes of an organization: what a model alias (`default`, `lead-qualifier`) stands for.
-- `definition` is the route as JSON (strategy and targets with their credential ids and prices).
create table ai_routes (
    organization_id blob not null references organizations (id) on delete cascade,
    alias text not null,
    definition text not null,
    created_at text not null,
    updated_at text not null,
    primary key (organization_id, alias)
) strict;

-- One row per AI call, for cost accounting and budgets. The workflow, execution and step are
-- plain columns without foreign keys: accounting outlives the workflow (a deleted workflow's
-- calls still count towards the month's spend), and proxy calls have none.
create table ai_usage (
    id blob primary key,
    organization_id blob not null references organizations (id) on delete cascade,
    workflow_id blob,
    execution_id blob,
    node_id text,
    route text not null,
    provider text not null,
    model text not null,
    input_tokens integer not null,
    output_tokens integer not null,
    latency_ms integer not null,
    cost_usd real not null,
    status text not null check (status in ('ok', 'error')),
    created_at text not null
) strict;

create index ai_usage_organization_created on ai_usage (organization_id, created_at);

-- Each organization's monthly AI budget.
create table ai_budgets (
    organization_id blob primary key references organizations (id) on delete cascade,
    monthly_usd real not null,
    alert_at real not null,
    created_at text not null,
    updated_at text not null
) strict;
