#!/usr/bin/env bash
# idle-probe.sh APP SECONDS EXPIRING: per-thread CPU ticks of APP's process tree over SECONDS,
# 10 000 pending (+ EXPIRING expiring inside the window), the store desktop.sh makes.
# Run it under a display and a session bus, e.g.
#   xvfb-run -a -s "-screen 0 1400x900x24 -nolisten tcp" dbus-run-session -- \
#     crates/lockbox-bench/idle-probe.sh target/release/lockbox-app 60 15
# STRACE=1 adds `strace -c -f` of the app over the window (its output outside
# the store's folder: the app watches that folder, a file written there wakes it).
# EVERY=N prints the ticks of each N s (by process and thread name) instead of
# one total: what wakes up when. SETTLE=S: start S s after the first paint (5).
set -euo pipefail
APP=$1; SECS=$2; EXP=$3; ROOT=$(cd "$(dirname "$0")/../.." && pwd); CLI=${CLI:-$ROOT/target/release/lockbox}
W=$(mktemp -d); OUT=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null; rm -rf "$W" "$OUT"' EXIT
export LOCKBOX_DB="$W/lockbox.db" USER=admin LOCKBOX_USER=admin LOCKBOX_API_BIND=127.0.0.1:0 NO_AT_BRIDGE=1 LOCKBOX_START_PAGE=requests
dunst >/dev/null 2>&1 &
"$CLI" settings set reminder-lead off >/dev/null
python3 "$ROOT/crates/lockbox-bench/desktop-fixture.py" "$LOCKBOX_DB" "$EXP" 15 $((SECS - 10))
"$APP" >"$W/app.log" 2>&1 & pid=$!
for _ in $(seq 300); do grep -q "first paint" "$W/app.log" && break; sleep 0.1; done
sleep "${SETTLE:-5}"
tree() { local p=$1; echo "$p"; for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree "$c"; done; }
snap() { for p in $(tree $pid); do for t in /proc/$p/task/*; do
  awk -v p=$p -v c="$(cat $t/comm 2>/dev/null | tr ' ' _)" -v pc="$(cat /proc/$p/comm | tr ' ' _)" '{print p"/"pc"/"c"/"$1, $14+$15}' $t/stat 2>/dev/null; done; done | sort; }
snap >"$OUT/a"
if [ -n "${EVERY:-}" ]; then
  # one line per interval: its total, then process:thread=ticks
  by_name() { awk '{split($1, f, "/"); s[substr(f[2], 1, 10) ":" f[3]] += $2} END {for (k in s) print k, s[k]}' "$1" | sort; }
  by_name "$OUT/a" >"$OUT/n0"
  for i in $(seq "$EVERY" "$EVERY" "$SECS"); do
    # (a thread that ended meanwhile is missing from one side: counted as 0)
    sleep "$EVERY"; snap >"$OUT/s" || true; by_name "$OUT/s" >"$OUT/n1"
    echo "$(date +%T) t+${i}s $(join -a 1 -a 2 -e 0 -o 0,1.2,2.2 "$OUT/n0" "$OUT/n1" | awk '{d = $3 - $2; if (d > 0) {t += d; o = o " " $1 "=" d}} END {print t + 0 " |" o}')"
    mv "$OUT/n1" "$OUT/n0"
  done
elif [ -n "${STRACE:-}" ]; then timeout "$SECS" strace -c -f -p $pid -o "$OUT/strace" >/dev/null 2>&1 || true; else sleep "$SECS"; fi
snap >"$OUT/b"
join "$OUT/a" "$OUT/b" | awk '{d=$3-$2; if (d>0) print d, $1}' | sort -rn | head -25
join "$OUT/a" "$OUT/b" | awk '{d+=$3-$2} END {print "total ticks", d, "=", d/'"$(getconf CLK_TCK)"'/'"$SECS"'*100, "%"}'
echo "expired: $(grep -c 'deadline applied' "$W/app.log" || true); tray updates: $(grep -c 'tray updated' "$W/app.log" || true); notifications: $(grep -c 'notification sent' "$W/app.log" || true)"
if [ -n "${STRACE:-}" ]; then head -25 "$OUT/strace"; fi
kill -TERM $pid; wait $pid 2>/dev/null || true
