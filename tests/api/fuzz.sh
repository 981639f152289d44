#!/usr/bin/env bash
# Fuzz the provider API with schemathesis against its own OpenAPI document:
# a real `lockbox serve` on a temp store, bounded examples per operation.
# Checks: no 5xx, every response matches the schema (status codes, bodies,
# content types). Usage: tests/api/fuzz.sh [MAX_EXAMPLES] (default 100).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI="$ROOT/target/debug/lockbox"
N="${1:-100}"
ST="$ROOT/.venv/bin/schemathesis"
[ -x "$ST" ] || { echo "api-fuzz: schemathesis is not installed in $ROOT/.venv: run 'make py-deps'" >&2; echo "api-fuzz: 0 passed, 1 failed"; exit 2; }
WORK=$(mktemp -d)
export LOCKBOX_DB="$WORK/lockbox.db"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

TOKEN=$("$CLI" --json token issue --name fuzz | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
"$CLI" demo >/dev/null
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
# High rate limits: the fuzzer, not the limiters, is under test here (it also
# calls without the token, to check that auth is enforced).
"$CLI" serve --bind "127.0.0.1:$PORT" --rate 100000 --auth-failures 100000 >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v1/openapi.json" >/dev/null && break; sleep 0.1; done

set +e
timeout 900 "$ST" run "http://127.0.0.1:$PORT/v1/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --checks all \
  --max-examples "$N" \
  --seed 42 \
  --no-color 2>&1 | tee "$WORK/st.log"
rc=${PIPESTATUS[0]}
set -e
if grep -q "panicked" "$WORK/serve.log"; then echo "the server panicked:"; cat "$WORK/serve.log"; rc=1; fi
if [ "$rc" = 0 ]; then echo "api-fuzz: 1 passed, 0 failed"; else echo "api-fuzz: 0 passed, 1 failed"; fi
exit "$rc"
