-- The end of every wrk run of the benchmarks: one line, `RESULT rps p50_ms p99_ms errors
-- requests`, which bench/lib.sh and bench/suite.py read. Each loads it with `dofile` from the
-- script it writes for the request.
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
