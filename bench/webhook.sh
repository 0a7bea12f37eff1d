#!/usr/bin/env bash
# Webhook load benchmark (issue 4): the release server on a fresh SQLite database, a workflow,
# and wrk against its webhook URL.
#
#   W1 "webhook-echo": trigger.webhook (respond: on_completion) -> transform.set; the caller
#       gets the result synchronously. Every execution and step is persisted.
#   W1-async: the same workflow with respond: immediately (202 once the call is stored); the
#       server's workers drain the executions meanwhile.
#
# For each, wrk runs at concurrency 1, 16 and 64 for $DURATION (default 10s), each row on a
# server started afresh on an empty database (so a row does not pay for the rows the previous
# ones left), and the table gives requests/s, p50/p99 latency and the server's peak resident
# memory (VmHWM) after the run. Needs `wrk` (Debian: apt-get install wrk) and curl.
# Usage: bench/webhook.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
PORT="${PORT:-18089}"
WORKERS="${WORKERS:-4}"
# shellcheck source=bench/lib.sh
. bench/lib.sh

start() { # respond: a fresh server and database, its webhook path in $path
  data=$(mktemp -d)
  AUTOMATRIX_SECRET_KEY="bench-secret-key-0123456789abcdef0123" AUTOMATRIX_LOG_FORMAT=json \
    RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$PORT" --data-dir "$data" --workers "$WORKERS" \
    >"$data/server.log" 2>&1 &
  server=$!
  login
  path=$(curl -fs -X POST "$base/api/workflows" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d @- <<JSON | json '["webhook_url"]'
{"name": "W1 webhook-echo", "definition": {
  "nodes": [
    {"id": "lead", "type": "trigger.webhook", "config": {"respond": "$1"}},
    {"id": "route", "type": "transform.set", "config": {"fields": {"email": "{{ \$trigger.body.email }}", "route": "bdc"}, "keep_input": false}}
  ],
  "edges": [{"from": "lead", "to": "route"}]}}
JSON
)
}

wrk_script '{"email": "ann@buyer.example", "vehicle": "2024 Tacoma", "source": "website"}'

table_header
for case in sync async; do
  respond=on_completion; [ "$case" = async ] && respond=immediately
  for c in 1 16 64; do
    start "$respond"
    load "W1 $case" "$c" "$base$path"
    stop
  done
done
