-- A version made by restoring an earlier one records which (`POST …/versions/{v}/restore`), so
-- its change summary can say "restored from version v"; null for every other version. The other
-- summaries are computed from the definitions when read, so nothing else is stored.
alter table workflow_versions add column restored_from integer;
