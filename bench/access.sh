#!/usr/bin/env bash
# Access-control cost benchmark (issue 8): the release server on a fresh SQLite database, and
# wrk GETs that differ only in what the access middleware does before the handler:
#
#   public:   GET /health/live                 no rule to check beyond "anyone"
#   account:  GET /api/auth/me                 a JWT checked (HS256), the user read
#   member:   GET /api/workflows               a JWT, the membership read (role, MFA rule),
#                                              the caller's rate bucket, then an empty list
#   key:      GET /api/workflows               the same with an API key (looked up by hash)
#
# wrk runs at concurrency 1 and 16 for $DURATION (default 10s) per row on one server. The
# per-caller API rate limit is off (bench/lib.sh), so the bucket is not taken. Usage:
# bench/access.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
PORT="${PORT:-18091}"
# shellcheck source=bench/lib.sh
. bench/lib.sh

data=$(mktemp -d)
AUTOMATRIX_SECRET_KEY="bench-secret-key-0123456789abcdef0123" RUST_LOG=warn \
  "$bin" serve --bind "127.0.0.1:$PORT" --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
login
session=$token
key=$(curl -fs -X POST "$base/api/api-keys" -H "authorization: Bearer $token" \
  -H 'content-type: application/json' -d '{"name": "bench", "role": "viewer"}' | json '["key"]')

table_header
for c in 1 16; do
  token="" wrk_script "" GET
  load public "$c" "$base/health/live"
  token=$session wrk_script "" GET
  load account "$c" "$base/api/auth/me"
  load member "$c" "$base/api/workflows"
  token=$key wrk_script "" GET
  load key "$c" "$base/api/workflows"
done
