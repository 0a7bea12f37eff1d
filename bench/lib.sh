# Shared by the HTTP load scripts (webhook.sh, ai_proxy.sh): sourced after they set PORT.
# Builds the release binary, and gives `stop` (ends the server started last and removes its
# data directory), `json` (a field of the JSON on stdin) and `login` (registers the bench user
# on a fresh server and sets $token). Needs wrk, curl and python3.

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/automatrix-target}"
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
