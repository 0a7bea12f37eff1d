-- The metrics summary counts an organization's executions created in a range, by workflow,
-- status and hour or day. This index holds every column those counts read, so they scan the
-- range's index entries and never the rows (only the run-time percentiles visit the rows, of
-- finished executions, for their start and end).
create index executions_organization_created_idx
    on executions (organization_id, created_at, workflow_id, status);
