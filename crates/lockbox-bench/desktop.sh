#!/usr/bin/env bash
# Desktop benchmark: the release Lockbox app vs a bare Tauri 2 window
# (fixtures/bare-tauri), measured in the same run under one Xvfb:
#  - cold start to first rendered page (ms from main() to two animation frames
#    after the first page rendered; RUNS starts each, alternating; median, min, max),
#  - idle CPU over IDLE_RUNS back-to-back windows of IDLE seconds each (the app
#    process plus its WebKit children; median, min, max of the windows), in two
#    scenarios: 10 000 pending requests, and the same plus EXPIRING requests
#    whose deadlines fall inside the windows (so they expire while idle),
#  - idle RSS at the end of the first scenario's windows.
# Usage: crates/lockbox-bench/desktop.sh
#   RUNS=5 IDLE=120 IDLE_RUNS=5 EXPIRING=100 by default (~30 min);
#   e.g. RUNS=3 IDLE=30 IDLE_RUNS=2 for a quick look; NO_BUILD=1 skips the
#   builds, APP=path/to/lockbox-app measures another build of the app.
#
# `desktop.sh archive` (make bench-archive) measures the archive window instead:
# `lockbox-app --archive BIG` on the 1 000 000-entry fixture (lockbox-bench
# big-store, built once and cached), from process start to the first Audit page
# rendered (target < 1500 ms), and to the banner's verification done; medians
# of RUNS starts after one warm-up start.
#
# `desktop.sh connected` (make bench-connected) measures connected mode (issue
# 14): the same app and the same 10 000 pending requests, once on its own
# store (local mode) and once connected to a team server (`lockbox serve
# --oidc-*` on a copy of that store, on this machine) as a person signed in
# with a real OpenID provider (tests/oidc; the sign-in in the OS keyring:
# GNOME Keyring on this run's session bus), alternating RUNS starts each
# after a warm-up of both; cold start to the first rendered Service requests
# page, median, min, max, and the ratio (target <= 1.2x).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}; IDLE=${IDLE:-120}; IDLE_RUNS=${IDLE_RUNS:-5}; EXPIRING=${EXPIRING:-100}; MODE=${1:-compare}
if [ -z "${LOCKBOX_BENCH_INNER:-}" ] && [ -n "${NO_BUILD:-}" ]; then
  export LOCKBOX_BENCH_INNER=1  # NO_BUILD=1: measure the binaries already built
  exec xvfb-run -a -s "-screen 0 1400x900x24 -nolisten tcp" dbus-run-session -- "$0" "$@"
fi
if [ -z "${LOCKBOX_BENCH_INNER:-}" ]; then
  (cd "$ROOT/ui" && npm run build >/dev/null)
  cargo build --release -p lockbox-app -p lockbox-cli --manifest-path "$ROOT/Cargo.toml" >&2
  if [ "$MODE" = connected ]; then
    :
  elif [ "$MODE" = archive ]; then
    cargo build --release -p lockbox-bench --bin lockbox-bench --manifest-path "$ROOT/Cargo.toml" >&2
    # (prints "building the fixture" the first time: minutes)
    LOCKBOX_BENCH_ARCHIVE=$("$ROOT/target/release/lockbox-bench" big-store | tail -1)
    export LOCKBOX_BENCH_ARCHIVE
  else
    cargo build --release --manifest-path "$ROOT/crates/lockbox-bench/fixtures/bare-tauri/Cargo.toml" \
      --target-dir "$ROOT/target" >&2
  fi
  export LOCKBOX_BENCH_INNER=1
  exec xvfb-run -a -s "-screen 0 1400x900x24 -nolisten tcp" dbus-run-session -- "$0" "$@"
fi
APP="${APP:-$ROOT/target/release/lockbox-app}"; BARE="$ROOT/target/release/bare-tauri"; CLI="$ROOT/target/release/lockbox"
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$WORK"' EXIT
export LOCKBOX_DB="$WORK/lockbox.db" USER=admin LOCKBOX_USER=admin LOCKBOX_API_BIND=127.0.0.1:0 NO_AT_BRIDGE=1

# wait_line FILE PATTERN SECONDS
wait_line() { local end=$(( $(date +%s) + $3 )); until grep -q "$2" "$1" 2>/dev/null; do
  [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.02; done; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

if [ "$MODE" = archive ]; then
  BIG="$LOCKBOX_BENCH_ARCHIVE"
  [ -f "$BIG" ] || { echo "no archive fixture at '$BIG'" >&2; exit 1; }
  # ms=N of the first LINE-matching log line
  field() { grep -m1 "$2" "$1" | grep -o "$3=[0-9]*" | head -1 | cut -d= -f2; }
  archive_run() { # LOG -> "first_paint_ms verified_since_start_ms verify_ms"
    "$APP" --archive "$BIG" >"$1" 2>&1 & local pid=$!
    wait_line "$1" "first paint" 60 || { echo "no first paint" >&2; cat "$1" >&2; kill $pid; return 1; }
    wait_line "$1" "archive verified\|archive verification" 120 || { echo "no verification" >&2; cat "$1" >&2; kill $pid; return 1; }
    kill -TERM $pid; wait $pid 2>/dev/null || true
    grep -q "archive verification FAILED" "$1" && { echo "the fixture did not verify" >&2; cat "$1" >&2; return 1; }
    echo "$(field "$1" "first paint" ms) $(field "$1" "archive verified" since_start_ms) $(field "$1" "archive verified" ms)"
  }
  archive_run "$WORK/warm.log" >/dev/null  # page cache warm
  : >"$WORK/runs"
  for i in $(seq "$RUNS"); do archive_run "$WORK/archive$i.log" >>"$WORK/runs"; done
  entries=$(grep -m1 "archive open" "$WORK/archive1.log" | grep -o "entries=[0-9]*" | cut -d= -f2)
  paint=$(awk '{print $1}' "$WORK/runs" | median); verified=$(awk '{print $2}' "$WORK/runs" | median)
  verify=$(awk '{print $3}' "$WORK/runs" | median)
  echo
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); runs=$RUNS; archive: $entries entries ($(du -h "$BIG" | cut -f1)), $BIG"
  echo "per run (first paint, verified since start, verification): $(tr '\n' ';' <"$WORK/runs")"
  printf "%-52s %8s ms\n" "archive window: start to first Audit page (median)" "$paint"
  printf "%-52s %8s ms\n" "archive window: start to verification shown (median)" "$verified"
  printf "%-52s %8s ms\n" "  of which the verification itself (median)" "$verify"
  echo "target: first page < 1500 ms; $( [ "$paint" -lt 1500 ] && echo MET || echo MISSED )"
  exit 0
fi
# Open on Service requests: the page the benchmark times.
export LOCKBOX_START_PAGE=requests
dunst >/dev/null 2>&1 &

# STORE EXPIRING EXPIRE_FROM_S EXPIRE_SPAN_S: a store with 10 000 pending requests
# (fixture rows written directly; the engine owns them from then on), plus
# EXPIRING pending requests whose deadlines are spread evenly over
# [now + EXPIRE_FROM_S, now + EXPIRE_FROM_S + EXPIRE_SPAN_S).
make_store() {
  LOCKBOX_DB="$1" "$CLI" settings set reminder-lead off >/dev/null
  python3 "$ROOT/crates/lockbox-bench/desktop-fixture.py" "$@"
}
make_store "$LOCKBOX_DB" 0 0 0

first_paint() { # BIN LOG -> ms
  "$1" >"$2" 2>&1 & local pid=$!
  wait_line "$2" "first paint" 60 || { echo "no first paint from $1" >&2; cat "$2" >&2; kill $pid; return 1; }
  kill -TERM $pid; wait $pid 2>/dev/null || true
  grep -o "first paint ms=[0-9]*\|ms=[0-9]* .*first paint\|first paint.*ms=[0-9]*" "$2" | grep -o "ms=[0-9]*" | head -1 | cut -d= -f2
}
tree_pids() { local p=$1; echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done; }
rss_kib() { local t=0; for p in $(tree_pids "$1"); do r=$(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0); t=$((t + ${r:-0})); done; echo $t; }
cpu_ticks() { local t=0; for p in $(tree_pids "$1"); do s=$(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0); t=$((t + ${s:-0})); done; echo $t; }

# median, min, max of numbers on stdin
stats() { sort -n | awk '{a[NR]=$1} END {m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%s %s %s\n", m, a[1], a[NR]}'; }
if [ "$MODE" = connected ]; then
  fail() { echo "bench (connected): $*" >&2; exit 1; }
  for tool in node gnome-keyring-daemon dbus-send python3; do
    command -v "$tool" >/dev/null || fail "'$tool' is not installed (make deps: .ci/install-deps)"
  done
  [ -f "$ROOT/tests/oidc/node_modules/oidc-provider/package.json" ] || fail "tests/oidc/node_modules is missing: make oidc-deps"
  # The OS keyring: GNOME Keyring's Secret Service on this run's session bus.
  mkdir -p "$WORK/keyring/home" "$WORK/keyring/run"; chmod 700 "$WORK/keyring/run"
  printf 'lockbox-bench' | HOME="$WORK/keyring/home" XDG_DATA_HOME="$WORK/keyring/home/data" XDG_RUNTIME_DIR="$WORK/keyring/run" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$WORK/keyring.log" 2>&1 &
  secrets_up() { dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; }
  for _ in $(seq 100); do secrets_up && break; sleep 0.1; done
  secrets_up || { cat "$WORK/keyring.log" >&2; fail "GNOME Keyring did not start"; }
  free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  IDP_PORT=$(free_port); SERVER_PORT=$(free_port); SERVER="http://127.0.0.1:$SERVER_PORT"; ANA=ana@contoso.example
  # The provider stops when its stdin closes: a FIFO this script holds open.
  mkfifo "$WORK/idp.in"
  (cd "$ROOT/tests/oidc" && exec node server.mjs "$IDP_PORT" <"$WORK/idp.in" >"$WORK/idp.log" 2>&1) &
  exec 7>"$WORK/idp.in"
  wait_line "$WORK/idp.log" "^listening" 30 || { cat "$WORK/idp.log" >&2; fail "the OpenID provider did not start"; }
  # The team server: the same data (a copy of the local store), ana its admin.
  mkdir -p "$WORK/server" "$WORK/connected"
  cp "$LOCKBOX_DB" "$WORK/server/lockbox.db"
  cp "$(dirname "$LOCKBOX_DB")/lockbox-receipts.key" "$WORK/server/"  # the store's receipt key goes with it
  LOCKBOX_DB="$WORK/server/lockbox.db" "$CLI" serve \
    --bind "127.0.0.1:$SERVER_PORT" --rate 100000 --oidc-issuer "http://127.0.0.1:$IDP_PORT" \
    --oidc-client-id lockbox-desktop --bootstrap-admin "$ANA" >"$WORK/serve.log" 2>&1 &
  ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$SERVER/readyz" 2>/dev/null; }
  for _ in $(seq 300); do ready && break; sleep 0.1; done
  ready || { cat "$WORK/serve.log" >&2; fail "lockbox serve did not get ready"; }
  # Ana signs in as a person would (`lockbox login --browser`; tests/oidc/browser.mjs
  # drives a real browser through the provider's pages); the app uses the same keyring entry.
  printf '#!/bin/sh\nexec node %q %q "$1" >>%q 2>&1\n' "$ROOT/tests/oidc/browser.mjs" "$ANA" "$WORK/browser.log" >"$WORK/browser.sh"
  chmod 755 "$WORK/browser.sh"
  BROWSER="$WORK/browser.sh" "$CLI" login --server "$SERVER" --browser </dev/null >"$WORK/login.log" 2>&1 ||
    { cat "$WORK/login.log" "$WORK/browser.log" >&2; fail "lockbox login --browser failed"; }
  # The connected app: its own (empty) local store, connection.json beside it.
  printf '{"server": "%s", "ca": null}\n' "$SERVER" >"$WORK/connected/connection.json"
  CONN_DB="$WORK/connected/lockbox.db"
  first_paint "$APP" "$WORK/warm-local.log" >/dev/null
  LOCKBOX_DB="$CONN_DB" first_paint "$APP" "$WORK/warm-connected.log" >/dev/null
  : >"$WORK/local.ms"; : >"$WORK/connected.ms"
  for i in $(seq "$RUNS"); do
    first_paint "$APP" "$WORK/local$i.log" >>"$WORK/local.ms"
    LOCKBOX_DB="$CONN_DB" first_paint "$APP" "$WORK/connected$i.log" >>"$WORK/connected.ms"
  done
  # Each start painted what it should: the local ones their store, the
  # connected ones the server's answer (not the replica's: "offline").
  for f in "$WORK"/local*.log; do grep -q "first paint.*mode=\"\?local" "$f" || { cat "$f" >&2; fail "$f: no local first paint"; }; done
  for f in "$WORK"/connected*.log; do grep -q "first paint.*mode=\"\?connected" "$f" || { cat "$f" >&2; fail "$f: no connected first paint"; }; done
  read -r l_ms l_min l_max < <(stats <"$WORK/local.ms"); read -r c_ms c_min c_max < <(stats <"$WORK/connected.ms")
  ratio=$(awk -v a="$c_ms" -v b="$l_ms" 'BEGIN {printf "%.2f", a / b}')
  echo
  echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); runs=$RUNS; 10000 pending requests; server on this machine (SQLite store)"
  echo "cold start runs (ms): local $(tr '\n' ' ' <"$WORK/local.ms"); connected $(tr '\n' ' ' <"$WORK/connected.ms")"
  printf "%-52s %8s ms (%s-%s)\n" "local mode: start to Service requests (median)" "$l_ms" "$l_min" "$l_max"
  printf "%-52s %8s ms (%s-%s)\n" "connected: start to Service requests (median)" "$c_ms" "$c_min" "$c_max"
  echo "ratio connected / local: ${ratio}x; target <= 1.2x: $(awk -v r="$ratio" 'BEGIN {print (r <= 1.2) ? "MET" : "MISSED"}')"
  exit 0
fi

: >"$WORK/app.ms"; : >"$WORK/bare.ms"
"$APP" >"$WORK/warm.log" 2>&1 & w=$!; wait_line "$WORK/warm.log" "first paint" 60; kill -TERM $w; wait $w 2>/dev/null || true  # page cache warm
for i in $(seq "$RUNS"); do
  first_paint "$APP" "$WORK/app$i.log" >>"$WORK/app.ms"
  first_paint "$BARE" "$WORK/bare$i.log" >>"$WORK/bare.ms"
done
read -r app_ms app_min app_max < <(stats <"$WORK/app.ms"); read -r bare_ms bare_min bare_max < <(stats <"$WORK/bare.ms")

# BIN LOG OUT: start BIN, wait for its first paint and 5 s, then IDLE_RUNS windows
# of IDLE s back to back; one CPU % per window to OUT, "rss_kib" at the end on stdout.
idle() {
  "$1" >"$2" 2>&1 & local pid=$!
  wait_line "$2" "first paint" 60
  sleep 5
  local hz; hz=$(getconf CLK_TCK); : >"$3"
  local t0 t1; t0=$(cpu_ticks $pid)
  for _ in $(seq "$IDLE_RUNS"); do
    sleep "$IDLE"; t1=$(cpu_ticks $pid)
    awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.2f\n", 100 * d / hz / s}' >>"$3"
    t0=$t1
  done
  rss_kib $pid
  kill -TERM $pid; wait $pid 2>/dev/null || true
}
app_rss=$(idle "$APP" "$WORK/idle-app.log" "$WORK/idle-app.cpu")
bare_rss=$(idle "$BARE" "$WORK/idle-bare.log" "$WORK/idle-bare.cpu")
# The same 10 000 pending plus EXPIRING deadlines inside the windows (the app
# starts, paints and settles in well under 20 s; the first deadline is 20 s after
# the store is made, the last 10 s before the windows end).
EXP_DB="$WORK/expiring/lockbox.db"; mkdir -p "$WORK/expiring"
make_store "$EXP_DB" "$EXPIRING" 20 $((IDLE * IDLE_RUNS - 20))
exp_rss=$(LOCKBOX_DB="$EXP_DB" idle "$APP" "$WORK/idle-exp.log" "$WORK/idle-exp.cpu")
expired=$(grep -c "deadline applied" "$WORK/idle-exp.log" || true)
read -r app_cpu app_cpu_min app_cpu_max < <(stats <"$WORK/idle-app.cpu")
read -r exp_cpu exp_cpu_min exp_cpu_max < <(stats <"$WORK/idle-exp.cpu")
read -r bare_cpu bare_cpu_min bare_cpu_max < <(stats <"$WORK/idle-bare.cpu")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
list() { tr '\n' ' ' <"$1" | sed 's/ $//'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg); runs=$RUNS idle=${IDLE}s x $IDLE_RUNS windows; Lockbox store: 10000 pending"
echo "cold start runs (ms): lockbox $(list "$WORK/app.ms"); bare $(list "$WORK/bare.ms")"
echo "idle CPU windows (%): lockbox $(list "$WORK/idle-app.cpu"); +expiring $(list "$WORK/idle-exp.cpu"); bare $(list "$WORK/idle-bare.cpu")"
printf "%-46s %18s %18s %8s\n" "operation" "lockbox" "bare tauri" "ratio"
printf "%-46s %18s %18s %8s\n" "cold start to first paint, median (min-max)" "$app_ms ms ($app_min-$app_max)" "$bare_ms ms ($bare_min-$bare_max)" "$(ratio "$app_ms" "$bare_ms")"
printf "%-46s %18s %18s %8s\n" "idle RSS after $((IDLE * IDLE_RUNS))s (process tree)" "$((app_rss / 1024)) MiB" "$((bare_rss / 1024)) MiB" "$(ratio "$app_rss" "$bare_rss")"
printf "%-46s %18s %18s %8s\n" "idle CPU, ${IDLE}s windows, median (min-max)" "$app_cpu % ($app_cpu_min-$app_cpu_max)" "$bare_cpu % ($bare_cpu_min-$bare_cpu_max)" "-"
printf "%-46s %18s %18s %8s\n" "  the same, $EXPIRING expiring while idle" "$exp_cpu % ($exp_cpu_min-$exp_cpu_max)" "-" "-"
echo "  ($expired of $EXPIRING expired during the windows; RSS then $((exp_rss / 1024)) MiB)"
echo "targets: start and RSS <= 1.3x the bare window; idle CPU < 0.5 % in every window"
