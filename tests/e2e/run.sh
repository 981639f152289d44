#!/usr/bin/env bash
# WebDriver end-to-end tests of the real Lockbox desktop app (tauri-driver +
# WebKitWebDriver, selenium-webdriver with node:test), headless under Xvfb and
# a private session D-Bus, on a throw-away store seeded with the CLI; then the
# connected scenario (connected.sh: a team server on PostgreSQL with an OpenID
# provider, and two apps on two displays and two session buses).
#
# Usage: tests/e2e/run.sh [node --test args, e.g. --test-name-pattern=Approve] [FILE.test.mjs...]
#   (connected.test.mjs runs under connected.sh, the other files here)
#   LOCKBOX_E2E_SKIP_BUILD=1   use the binaries and ui/dist as they are (no builds)
#   LOCKBOX_E2E_KEEP=1         keep the temp dirs (stores, logs) after the run
#   LOCKBOX_E2E_TIMEOUT=900    limit of each of the two runs in seconds (default 900)
#   LOCKBOX_E2E_BIN_DIR=DIR    the app and CLI from DIR (default target/debug; with
#                              LOCKBOX_E2E_SKIP_BUILD=1, e.g. target/release to measure)
#   LOCKBOX_E2E_LATENCY=N      also measure N requests' provider approval -> Notify on
#                              both connected desktops (target/e2e-connected-latency.txt)
# Output: one line per test, then `e2e: N passed, N failed`; exit 0 only if all
# passed. Screenshots: target/e2e-screenshots/*.png (FAILED-*.png on failure);
# on failure the app / driver logs are copied to target/e2e-logs/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E2E="$ROOT/tests/e2e"
BIN=$(cd "$ROOT" && realpath -m "${LOCKBOX_E2E_BIN_DIR:-target/debug}")
APP="$BIN/lockbox-app"
CLI="$BIN/lockbox"
SHOTS="$ROOT/target/e2e-screenshots"
LOGS="$ROOT/target/e2e-logs"
TIMEOUT_S=${LOCKBOX_E2E_TIMEOUT:-900}
. "$E2E/common.sh"

die() { echo "e2e: $*" >&2; echo "e2e: 0 passed, 1 failed"; exit 1; }

if [ -z "${LOCKBOX_E2E_INNER:-}" ]; then
  # ------------------------------------------------------------ outer: set-up
  t0=$(date +%s)
  for tool in node npm xvfb-run dbus-run-session timeout; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed (run 'make deps': .ci/install-deps)"
  done
  # 20.11: node --disable-warning (common.sh).
  node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 11)')
  [ "$node_ok" = true ] || die "Node.js 20.11 or newer is needed (found $(node --version))"
  WKWD=$(command -v WebKitWebDriver || true)
  [ -n "$WKWD" ] || { [ -x /usr/bin/WebKitWebDriver ] && WKWD=/usr/bin/WebKitWebDriver; } ||
    die "WebKitWebDriver is missing: apt-get install webkit2gtk-driver (or 'make deps')"

  TD=$(command -v tauri-driver || true)
  [ -n "$TD" ] || { [ -x "$HOME/.cargo/bin/tauri-driver" ] && TD="$HOME/.cargo/bin/tauri-driver"; } || true
  if [ -z "$TD" ]; then
    echo "== installing tauri-driver 2.1.0 (cargo install)"
    cargo install tauri-driver --version 2.1.0 --locked || die "cargo install tauri-driver failed"
    TD="$HOME/.cargo/bin/tauri-driver"
    [ -x "$TD" ] || TD=$(command -v tauri-driver) || die "tauri-driver was installed but is not on PATH or in ~/.cargo/bin"
  fi

  if [ ! -f "$E2E/node_modules/.package-lock.json" ] || [ "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]; then
    echo "== npm ci (tests/e2e)"
    (cd "$E2E" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/e2e failed"
  fi
  # The OpenID provider of the connected scenario (make oidc-deps).
  OIDC="$ROOT/tests/oidc"
  if [ ! -f "$OIDC/node_modules/.package-lock.json" ] || [ "$OIDC/package-lock.json" -nt "$OIDC/node_modules/.package-lock.json" ]; then
    echo "== npm ci (tests/oidc)"
    (cd "$OIDC" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in tests/oidc failed"
  fi

  if [ -z "${LOCKBOX_E2E_SKIP_BUILD:-}" ]; then
    # The app embeds ui/dist at compile time: rebuild the UI when it is missing
    # or older than its sources (make test-e2e has already built it).
    if [ ! -f "$ROOT/ui/dist/index.html" ] ||
       [ -n "$(find "$ROOT/ui/src" "$ROOT/ui/index.html" "$ROOT/ui/package.json" -newer "$ROOT/ui/dist/index.html" -print -quit 2>/dev/null)" ]; then
      echo "== building the UI (ui/dist)"
      if [ ! -d "$ROOT/ui/node_modules" ]; then (cd "$ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in ui/ failed"; fi
      (cd "$ROOT/ui" && npm run build) || die "the UI build failed (cd ui && npm run build)"
    fi
    echo "== cargo build -p lockbox-app -p lockbox-cli"
    (cd "$ROOT" && cargo build -p lockbox-app -p lockbox-cli --locked) ||
      die "cargo build -p lockbox-app -p lockbox-cli failed"
  fi
  [ -x "$APP" ] || die "$APP is missing: cargo build -p lockbox-app"
  [ -x "$CLI" ] || die "$CLI is missing: cargo build -p lockbox-cli"
  [ -f "$ROOT/ui/dist/index.html" ] || die "ui/dist is missing: cd ui && npm run build"

  export LOCKBOX_E2E_TAURI_DRIVER="$TD" LOCKBOX_E2E_WEBKIT_DRIVER="$WKWD"
  mkdir -p "$ROOT/target" "$SHOTS"
  rm -f "$SHOTS"/*.png
  # Which runs: connected.test.mjs is connected.sh's, other files the single
  # app's; no file: both.
  node_args=() ; single=() ; connected=""
  for a in "$@"; do case "$a" in *connected.test.mjs) connected=1 ;; *.mjs) single+=("$a") ;; *) node_args+=("$a") ;; esac; done
  if [ "${#single[@]}" = 0 ] && [ -z "$connected" ]; then run_single=1; connected=1; else run_single=${single[0]:+1}; fi
  # Harmless noise from the session bus, the accessibility bus and Xvfb's shutdown.
  NOISE='^dbus-daemon\[|^SpiRegistry daemon|^X connection to :[0-9]+ broken'
  total_pass=0 ; total_fail=0 ; all_rc=0
  failures="$ROOT/target/.e2e-failures.$$"
  rm -f "$failures"
  # phase NAME CMD...: one run under the time limit; its counts are added.
  phase() {
    local name=$1 rc summary p f
    shift
    export LOCKBOX_E2E_RESULT="$ROOT/target/.e2e-result.$$"
    rm -f "$LOCKBOX_E2E_RESULT" "$LOCKBOX_E2E_RESULT.failures"
    echo "== $name (headless, timeout ${TIMEOUT_S} s)"
    set +e
    timeout --kill-after=30 "$TIMEOUT_S" "$@" \
      > >(grep -v --line-buffered -E "$NOISE") 2> >(grep -v --line-buffered -E "$NOISE" >&2)
    rc=$?
    set -e
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "e2e: $name TIMED OUT after ${TIMEOUT_S} s"; fi
    if [ -s "$LOCKBOX_E2E_RESULT" ]; then
      summary=$(cat "$LOCKBOX_E2E_RESULT")
    else
      summary="e2e: 0 passed, 1 failed"
      echo "e2e: $name ended without a result (exit $rc)"
    fi
    if [ -s "$LOCKBOX_E2E_RESULT.failures" ]; then
      { echo "== $name: what failed"; cat "$LOCKBOX_E2E_RESULT.failures"; } >>"$failures"
    fi
    rm -f "$LOCKBOX_E2E_RESULT" "$LOCKBOX_E2E_RESULT.failures"
    p=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$summary")
    f=$(sed -n 's/^e2e: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$summary")
    if [ "$rc" != 0 ] && [ "${f:-0}" = 0 ]; then f=1; fi
    echo "$summary ($name)"
    total_pass=$(( total_pass + ${p:-0} )); total_fail=$(( total_fail + ${f:-1} ))
    [ "$rc" = 0 ] || all_rc=$rc
  }
  if [ -n "$run_single" ]; then
    LOCKBOX_E2E_INNER=1 phase "the desktop app" \
      xvfb-run -a -s "-screen 0 1400x900x24 -nolisten tcp" dbus-run-session -- "$0" \
      ${node_args[@]+"${node_args[@]}"} ${single[@]+"${single[@]}"}
  fi
  if [ -n "$connected" ]; then
    phase "connected: team server + two apps" "$E2E/connected.sh" ${node_args[@]+"${node_args[@]}"}
  fi
  echo "e2e: took $(( $(date +%s) - t0 )) s"
  # Each run's failures once more, last: a CI log is read from its tail.
  if [ -s "$failures" ]; then cat "$failures"; fi
  rm -f "$failures"
  # A name pattern that matched nothing anywhere is a failure too.
  if [ "$total_pass" = 0 ] && [ "$total_fail" = 0 ]; then total_fail=1; fi
  echo "e2e: $total_pass passed, $total_fail failed"
  [ "$total_fail" = 0 ] && [ "$all_rc" = 0 ]
  exit
fi

# -------------------------------------------------------------- inner: run
# Here: inside Xvfb (DISPLAY set) and a private session bus.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lockbox-e2e.XXXXXX")
TD_PID="" ; DUNST_PID="" ; NODE_PID=""

# Stop what we started, by PID; tauri-driver gets SIGTERM so it can stop
# WebKitWebDriver (SIGKILL would orphan it on its port).
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  if [ -n "$TD_PID" ] && kill -0 "$TD_PID" 2>/dev/null; then
    kill -TERM "$TD_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$TD_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$TD_PID" 2>/dev/null; then
      echo "e2e: tauri-driver ($TD_PID) ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL "$TD_PID" 2>/dev/null
    fi
    wait "$TD_PID" 2>/dev/null
  fi
  # WebKitWebDriver and the app (started by tauri-driver, marked by
  # LOCKBOX_E2E_RUN) should be gone with it; give them 10 s, then stop them.
  ours() { grep -lsz "^LOCKBOX_E2E_RUN=$WORK\$" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
  for _ in $(seq 100); do [ -z "$(ours)" ] && break; sleep 0.1; done
  for pid in $(ours); do
    echo "e2e: stopping leftover $(cat "/proc/$pid/comm" 2>/dev/null) ($pid)" >&2
    kill -TERM "$pid" 2>/dev/null
  done
  [ -n "$DUNST_PID" ] && kill -TERM "$DUNST_PID" 2>/dev/null && wait "$DUNST_PID" 2>/dev/null
  if [ "$rc" != 0 ] && [ -d "$WORK" ]; then
    rm -rf "$LOGS"; mkdir -p "$LOGS"
    cp -r "$WORK"/*.log "$WORK"/data/logs "$LOGS"/ 2>/dev/null
    echo "e2e: logs copied to ${LOGS#"$ROOT"/}/" >&2
  fi
  if [ -n "${LOCKBOX_E2E_KEEP:-}" ]; then echo "e2e: kept $WORK" >&2; else
    for _ in 1 2 3 4 5; do rm -rf "$WORK" 2>/dev/null && break; sleep 0.5; done
    [ -d "$WORK" ] && echo "e2e: could not remove $WORK" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# A private store and private XDG dirs: the app never touches a real profile.
mkdir -p "$WORK/data" "$WORK/xdg/config" "$WORK/xdg/data" "$WORK/xdg/cache" "$WORK/xdg/state"
# USER/LOGNAME/LOCKBOX_USER name somebody else on purpose: the app and the CLI
# act as the OS user (by uid) whatever the environment says.
export LOCKBOX_DB="$WORK/data/lockbox.db" USER=admin LOCKBOX_USER=admin LOGNAME=admin
export LOCKBOX_E2E_ME="$(id -un)"
export LOCKBOX_API_BIND=127.0.0.1:0 LOCKBOX_E2E_SAVE_PATH="$WORK/export.csv"
# What "Open audit archive…" picks (the native dialog cannot be driven).
export LOCKBOX_E2E_OPEN_PATH="$WORK/archive/opened-from-the-app.db"
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_DATA_HOME="$WORK/xdg/data" XDG_CACHE_HOME="$WORK/xdg/cache" XDG_STATE_HOME="$WORK/xdg/state"
export NO_AT_BRIDGE=1
unset LOCKBOX_NOW LOCKBOX_TENANT
export LOCKBOX_E2E_APP="$APP" LOCKBOX_E2E_CLI="$CLI" LOCKBOX_E2E_SHOTS="$SHOTS" LOCKBOX_E2E_WORK="$WORK"
mkdir -p "$SHOTS"

# A notification daemon, so the app's OS notifications have somewhere to go.
if command -v dunst >/dev/null; then dunst >"$WORK/dunst.log" 2>&1 & DUNST_PID=$!; fi

# Seed: 3 pending requests + 1 awaiting the provider (the OS user becomes the first admin).
"$CLI" demo >"$WORK/seed.log" 2>&1 || { cat "$WORK/seed.log"; echo "e2e: seeding the store failed" >&2; exit 1; }

# Free ports for tauri-driver and WebKitWebDriver (not the fixed 4444/4445, so
# a run never collides with another driver on this machine).
read -r PORT NATIVE_PORT < <(free_ports 2)
# LOCKBOX_E2E_RUN marks tauri-driver and what it starts (the app), for cleanup.
LOCKBOX_E2E_RUN="$WORK" "$LOCKBOX_E2E_TAURI_DRIVER" --port "$PORT" --native-port "$NATIVE_PORT" --native-driver "$LOCKBOX_E2E_WEBKIT_DRIVER" \
  >"$WORK/tauri-driver.log" 2>&1 &
TD_PID=$!
for _ in $(seq 300); do
  port_open "$PORT" && break
  kill -0 "$TD_PID" 2>/dev/null || { cat "$WORK/tauri-driver.log"; echo "e2e: tauri-driver exited at start" >&2; exit 1; }
  sleep 0.1
done
port_open "$PORT" || { cat "$WORK/tauri-driver.log"; echo "e2e: tauri-driver is not listening on :$PORT after 30 s" >&2; exit 1; }
export LOCKBOX_E2E_DRIVER_URL="http://127.0.0.1:$PORT/"

# The tests, serially (one app, one automation session). TAP goes to a file
# for the summary; the spec reporter to the console. The tests get the
# overall limit minus a minute, so that on a hang this script still stops the
# driver, copies the logs and prints the summary.
cd "$E2E"
files=() ; node_args=()
for a in "$@"; do case "$a" in *.mjs) files+=("$a") ;; *) node_args+=("$a") ;; esac; done
if [ "${#files[@]}" = 0 ]; then
  for f in ./*.test.mjs; do [ "$f" = ./connected.test.mjs ] || files+=("$f"); done
fi
node_limit=$(( TIMEOUT_S > 120 ? TIMEOUT_S - 60 : TIMEOUT_S / 2 ))
run_tests "$WORK" "$node_limit" ${node_args[@]+"${node_args[@]}"} "${files[@]}"
