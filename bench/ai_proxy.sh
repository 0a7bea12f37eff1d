#!/usr/bin/env bash
# AI proxy overhead benchmark (issue 6): the release server on a fresh SQLite database, and wrk
# against POST /api/ai/v1/chat/completions on the route `default`, which the built-in mock
# answers. No provider is called, so what is measured is what the hub adds to every AI call:
# authentication, the budget check (a budget is set, so it reads the month's spend), the route
# lookup, the gateway, and the usage row written per call.
#
#   whole:  a non-streamed answer (application/json)
#   stream: stream: true with include_usage (server-sent events through the relay task)
#
# wrk runs at concurrency 1 and 16 for $DURATION (default 10s) per row, each on a server
# started afresh. Needs `wrk` and curl. Usage: bench/ai_proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
PORT="${PORT:-18090}"
# shellcheck source=bench/lib.sh
. bench/lib.sh

start() { # a fresh server and database; the bearer token in $token
  data=$(mktemp -d)
  AUTOMATRIX_SECRET_KEY="bench-secret-key-0123456789abcdef0123" RUST_LOG=warn \
    "$bin" serve --bind "127.0.0.1:$PORT" --data-dir "$data" >"$data/server.log" 2>&1 &
  server=$!
  login
  curl -fs -X PUT "$base/api/ai/budget" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"monthly_usd": 1000, "alert_at": 0.8}' >/dev/null
}


ask='"model": "default", "messages": [{"role": "system", "content": "You are the BDC assistant of Valley Honda."}, {"role": "user", "content": "Is the 2021 Civic still available? I can come by on Saturday."}]'
table_header
for case in whole stream; do
  for c in 1 16; do
    start
    if [ "$case" = stream ]; then
      wrk_script "{$ask, \"stream\": true, \"stream_options\": {\"include_usage\": true}}"
    else
      wrk_script "{$ask}"
    fi
    load "$case" "$c" "$base/api/ai/v1/chat/completions"
    calls=$(curl -fs "$base/api/ai/usage?group_by=model" -H "authorization: Bearer $token" | json '["calls"]')
    [ "$calls" -ge "$total" ] || echo "  (usage rows: $calls for $total requests)" >&2
    stop
  done
done
