-- AI routes of an organization: what a model alias (`default`, `lead-qualifier`) stands for.
-- `definition` is the route as JSON (strategy and targets with their credential ids and prices).
create table ai_routes (
    organization_id uuid not null references organizations (id) on delete cascade,
    alias text not null,
    definition jsonb not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (organization_id, alias)
);

-- One row per AI call, for cost accounting and budgets. The workflow, execution and step are
-- plain columns without foreign keys: accounting outlives the workflow (a deleted workflow's
-- calls still count towards the month's spend), and proxy calls have none.
create table ai_usage (
    id uuid primary key,
    organization_id uuid not null references organizations (id) on delete cascade,
    workflow_id uuid,
    execution_id uuid,
    node_id text,
    route text not null,
    provider text not null,
    model text not null,
    input_tokens bigint not null,
    output_tokens bigint not null,
    latency_ms bigint not null,
    cost_usd double precision not null,
    status text not null check (status in ('ok', 'error')),
    created_at timestamptz not null
);

create index ai_usage_organization_created on ai_usage (organization_id, created_at);

-- Each organization's monthly AI budget.
create table ai_budgets (
    organization_id uuid primary key references organizations (id) on delete cascade,
    monthly_usd double precision not null,
    alert_at double precision not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);
