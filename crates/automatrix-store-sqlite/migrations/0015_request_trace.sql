-- Observability: the id of the HTTP request that created an execution (`X-Request-Id`,
-- accepted from the client or generated), shown with the execution and in every log line of
-- its runs; and the W3C `traceparent` of the span that queued a job, so the worker's span of
-- the run continues that trace. Both null for work the engine starts itself (schedules).
alter table executions add column request_id text;
alter table jobs add column trace_context text;
