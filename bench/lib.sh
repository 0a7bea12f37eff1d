# Shared by the HTTP load scripts (webhook.sh, ai_proxy.sh): sourced after they set PORT and
# DURATION.
# Builds the release binary, and gives `stop` (ends the server started last and removes its
# data directory), `json` (a field of the JSON on stdin) and `login` (registers the bench user
# on a fresh server and sets $token), `wrk_script`, `table_header` and `load` (one table row).
# Needs wrk, curl and python3.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/automatrix-target}"
# One bench user sends every request: the per-caller API rate limit would measure itself.
export AUTOMATRIX_API_RATE_LIMIT=0
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p automatrix
bin="$CARGO_TARGET_DIR/release/automatrix"
base="http://127.0.0.1:$PORT"
server=""
data=""

stop() {
  [ -n "$server" ] && { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; }
  [ -n "$data" ] && rm -rf "$data"
  server=""
  data=""
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Waits for the server at $base, registers the bench user and logs in: $token.
login() {
  for _ in $(seq 1 100); do curl -fs "$base/health/live" >/dev/null && break; sleep 0.1; done
  curl -fs -X POST "$base/api/auth/register" -H 'content-type: application/json' \
    -d '{"email":"bench@dealer.example","password":"bench-password-123","name":"Bench"}' >/dev/null
  token=$(curl -fs -X POST "$base/api/auth/login" -H 'content-type: application/json' \
    -d '{"email":"bench@dealer.example","password":"bench-password-123"}' | json '["access_token"]')
}

lua=$(mktemp)
trap 'stop; rm -f "$lua"' EXIT

# Writes the wrk script: POST $1 (a JSON body without single quotes) as JSON, or with $2 = GET
# a GET without a body, with $token as its bearer when set; at the end wrk prints
# `RESULT rps p50 p99 errors requests` (bench/report.lua).
wrk_script() {
  local auth="" request
  [ -n "${token:-}" ] && auth="wrk.headers[\"Authorization\"] = \"Bearer $token\""
  if [ "${2:-POST}" = GET ]; then
    request='wrk.method = "GET"'
  else
    request="wrk.method = \"POST\"
wrk.headers[\"Content-Type\"] = \"application/json\"
wrk.body = '$1'"
  fi
  cat >"$lua" <<EOF_LUA
$request
$auth
dofile("$PWD/bench/report.lua")
EOF_LUA
}

table_header() {
  echo "| case | concurrency | requests/s | p50 (ms) | p99 (ms) | errors | requests | server peak RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|---|"
}

# Loads URL $3 at concurrency $2 for $DURATION with the wrk script, and prints the row of case
# $1 with the running server's peak memory; sets $total (requests made).
load() {
  local threads line rps p50 p99 errors rss
  threads=$(( $2 < 2 ? 1 : 2 ))
  line=$(wrk -t"$threads" -c"$2" -d"$DURATION" -s "$lua" "$3" | grep '^RESULT')
  read -r _ rps p50 p99 errors total <<<"$line"
  rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$server/status")
  echo "| $1 | $2 | $rps | $p50 | $p99 | $errors | $total | $rss |"
}
