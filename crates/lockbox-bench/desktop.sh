#!/usr/bin/env bash
# Desktop benchmark: the release Lockbox app vs a bare Tauri 2 window
# (fixtures/bare-tauri), measured in the same run under one Xvfb:
#  - cold start to first rendered page (ms from main() to two animation frames
#    after the first page rendered; median of RUNS starts each, alternating),
#  - idle RSS after IDLE seconds (the app process plus its WebKit children),
#  - idle CPU over IDLE seconds, Lockbox holding 10 000 pending requests.
# Usage: crates/lockbox-bench/desktop.sh   (RUNS=5 IDLE=60 by default)
#
# `desktop.sh archive` (make bench-archive) measures the archive window instead:
# `lockbox-app --archive BIG` on the 1 000 000-entry fixture (lockbox-bench
# big-store, built once and cached), from process start to the first Audit page
# rendered (target < 1500 ms), and to the banner's verification done; medians
# of RUNS starts after one warm-up start.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}; IDLE=${IDLE:-60}; MODE=${1:-compare}
if [ -z "${LOCKBOX_BENCH_INNER:-}" ]; then
  (cd "$ROOT/ui" && npm run build >/dev/null)
  cargo build --release -p lockbox-app -p lockbox-cli --manifest-path "$ROOT/Cargo.toml" >&2
  if [ "$MODE" = archive ]; then
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
APP="$ROOT/target/release/lockbox-app"; BARE="$ROOT/target/release/bare-tauri"; CLI="$ROOT/target/release/lockbox"
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

# 10 000 pending requests (fixture rows written directly; the engine owns them from then on).
"$CLI" settings set reminder-lead off >/dev/null
python3 - "$LOCKBOX_DB" <<'PY'
import sqlite3, sys, time, uuid
db = sqlite3.connect(sys.argv[1]); now = int(time.time() * 1000); far = now + 29 * 86400 * 1000
rows = [(str(uuid.uuid4()), "default", "pending", f"SR-{i:06d}", "Exchange Online", f"Mailbox: user{i}@contoso.example",
         "Benchmark fixture", f"eng{i % 50}@provider.example", 3600, now - i, far, 1, 1, 1, far) for i in range(10000)]
db.executemany("""INSERT INTO requests (id, tenant, state, case_number, workload, resource, reason, requester,
  requested_duration_s, created_at, expires_at, approvals_required, provider_approvals_required, lockbox_required, deadline_at)
  VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
db.commit()
PY

first_paint() { # BIN LOG -> ms
  "$1" >"$2" 2>&1 & local pid=$!
  wait_line "$2" "first paint" 60 || { echo "no first paint from $1" >&2; cat "$2" >&2; kill $pid; return 1; }
  kill -TERM $pid; wait $pid 2>/dev/null || true
  grep -o "first paint ms=[0-9]*\|ms=[0-9]* .*first paint\|first paint.*ms=[0-9]*" "$2" | grep -o "ms=[0-9]*" | head -1 | cut -d= -f2
}
tree_pids() { local p=$1; echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done; }
rss_kib() { local t=0; for p in $(tree_pids "$1"); do r=$(awk '/^VmRSS/ {print $2}' /proc/"$p"/status 2>/dev/null || echo 0); t=$((t + ${r:-0})); done; echo $t; }
cpu_ticks() { local t=0; for p in $(tree_pids "$1"); do s=$(awk '{print $14 + $15}' /proc/"$p"/stat 2>/dev/null || echo 0); t=$((t + ${s:-0})); done; echo $t; }

: >"$WORK/app.ms"; : >"$WORK/bare.ms"
"$APP" >"$WORK/warm.log" 2>&1 & w=$!; wait_line "$WORK/warm.log" "first paint" 60; kill -TERM $w; wait $w 2>/dev/null || true  # page cache warm
for i in $(seq "$RUNS"); do
  first_paint "$APP" "$WORK/app$i.log" >>"$WORK/app.ms"
  first_paint "$BARE" "$WORK/bare$i.log" >>"$WORK/bare.ms"
done
app_ms=$(median <"$WORK/app.ms"); bare_ms=$(median <"$WORK/bare.ms")

idle() { # BIN LOG -> "rss_kib cpu_percent"
  "$1" >"$2" 2>&1 & local pid=$!
  wait_line "$2" "first paint" 60
  sleep 5
  local t0; t0=$(cpu_ticks $pid); sleep "$IDLE"; local t1; t1=$(cpu_ticks $pid)
  local rss; rss=$(rss_kib $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local hz; hz=$(getconf CLK_TCK)
  echo "$rss $(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.2f", 100 * d / hz / s}')"
}
read -r app_rss app_cpu < <(idle "$APP" "$WORK/idle-app.log")
read -r bare_rss bare_cpu < <(idle "$BARE" "$WORK/idle-bare.log")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); runs=$RUNS idle=${IDLE}s; Lockbox store: 10000 pending"
printf "%-40s %12s %12s %8s\n" "operation" "lockbox" "bare tauri" "ratio"
printf "%-40s %10s ms %10s ms %8s\n" "cold start to first paint (median)" "$app_ms" "$bare_ms" "$(ratio "$app_ms" "$bare_ms")"
printf "%-40s %9s MiB %9s MiB %8s\n" "idle RSS after ${IDLE}s (process tree)" "$((app_rss / 1024))" "$((bare_rss / 1024))" "$(ratio "$app_rss" "$bare_rss")"
printf "%-40s %11s %% %11s %% %8s\n" "idle CPU over ${IDLE}s (process tree)" "$app_cpu" "$bare_cpu" "-"
echo "targets: start and RSS <= 1.3x the bare window; idle CPU < 0.5 %"
