-- Workflow templates. Built-in ones (organization_id null) are loaded from the binary at start,
-- upserted by slug; an organization's own have no slug. `spec` is the whole template
-- (parameters, definition with [[placeholders]], sample input); name and category are copied
-- out of it for listing.
create table templates (
    id blob primary key,
    organization_id blob references organizations (id) on delete cascade,
    slug text,
    name text not null,
    category text not null,
    spec text not null,
    created_by blob references users (id) on delete set null,
    created_at text not null,
    updated_at text not null
) strict;

create unique index templates_builtin_slug on templates (slug) where organization_id is null;
create index templates_organization on templates (organization_id, category, name);
