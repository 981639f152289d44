#!/usr/bin/env bash
# The connected scenario of the end-to-end tests (issue 14): a team server and
# two desktop apps, two people. Run by tests/e2e/run.sh after its set-up (the
# tools checked, the binaries built); not on its own.
#
# Starts, each by PID and stopped by PID at exit (trap), failure or not:
# - PostgreSQL: a throw-away cluster (initdb + pg_ctl from
#   /usr/lib/postgresql/*/bin or LOCKBOX_PG_BIN) on a free port, its socket in
#   its own folder, as `nobody` when run as root (PostgreSQL refuses root);
# - the OpenID provider: tests/oidc/server.mjs (oidc-provider);
# - `lockbox serve` on that database with --oidc-issuer/--oidc-client-id and
#   --bootstrap-admin ana; the operator's CLI on the same database first adds
#   bob as an approver, asks for two customer approvals per request and issues
#   the provider's API token;
# - per app (a = ana, b = bob): its own Xvfb display (-displayfd: a free
#   one), its own session D-Bus (dbus-daemon) with its own GNOME Keyring
#   (Secret Service, unlocked), its own HOME / XDG dirs / local store, a
#   `$BROWSER` that is a real browser driven by WebDriver (tests/oidc/browser.mjs:
#   MiniBrowser under WebKitWebDriver on the app's display), and its
#   own tauri-driver (+ WebKitWebDriver) on free ports, and a notification
#   daemon (dunst) with dbus-monitor writing the app's Notify calls to
#   WORK/X/notify.log.
# Then node --test connected.test.mjs drives both windows.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
E2E="$ROOT/tests/e2e"
. "$E2E/common.sh"
BIN=$(cd "$ROOT" && realpath -m "${LOCKBOX_E2E_BIN_DIR:-target/debug}")
APP="$BIN/lockbox-app"
CLI="$BIN/lockbox"
SHOTS="$ROOT/target/e2e-screenshots"
LOGS="$ROOT/target/e2e-logs/connected"
TIMEOUT_S=${LOCKBOX_E2E_TIMEOUT:-900}
: "${LOCKBOX_E2E_TAURI_DRIVER:?run tests/e2e/run.sh, which sets it}"
: "${LOCKBOX_E2E_WEBKIT_DRIVER:?run tests/e2e/run.sh, which sets it}"

fail_setup() { echo "e2e (connected): $*" >&2; echo "e2e: 0 passed, 1 failed" >"${LOCKBOX_E2E_RESULT:-/dev/null}"; exit 1; }

# Loudly, never skipped: what this scenario needs beyond run.sh's tools.
for tool in Xvfb dbus-daemon dbus-send dbus-monitor dunst gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || fail_setup "'$tool' is not installed (make deps: .ci/install-deps)"
done
PG_BIN=${LOCKBOX_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
  fail_setup "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): make deps, or set LOCKBOX_PG_BIN"
[ -f "$ROOT/tests/oidc/node_modules/oidc-provider/package.json" ] ||
  fail_setup "tests/oidc/node_modules is missing: make oidc-deps (npm ci in tests/oidc)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lockbox-e2e-connected.XXXXXX")
# PostgreSQL's folder: its own, owned by the server's user.
PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/lockbox-e2e-pg.XXXXXX")
PIDS=()            # our long-running helpers, stopped last to first
TD_PIDS=()         # the tauri-drivers (stopped first, with SIGTERM)
NODE_PID="" ; PG_STARTED=""

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi; }

stop_pid() { # PID: SIGTERM, up to 10 s, then SIGKILL
  local pid=$1
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "e2e (connected): $(cat "/proc/$pid/comm" 2>/dev/null) ($pid) ignored SIGTERM for 10 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$NODE_PID" ] && kill -TERM "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
  # tauri-driver first (SIGTERM: it stops WebKitWebDriver, which ends the app).
  for pid in ${TD_PIDS[@]+"${TD_PIDS[@]}"}; do stop_pid "$pid"; done
  ours() { grep -lsz "^LOCKBOX_E2E_RUN=$WORK\$" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3; }
  for _ in $(seq 100); do [ -z "$(ours)" ] && break; sleep 0.1; done
  for pid in $(ours); do
    echo "e2e (connected): stopping leftover $(cat "/proc/$pid/comm" 2>/dev/null) ($pid)" >&2
    kill -TERM "$pid" 2>/dev/null
  done
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do stop_pid "${PIDS[$i]}"; done
  [ -n "$PG_STARTED" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
  if [ "$rc" != 0 ]; then
    rm -rf "$LOGS"; mkdir -p "$LOGS"
    cp "$WORK"/*.log "$LOGS"/ 2>/dev/null
    for f in "$WORK"/*/*.log; do [ -f "$f" ] && cp "$f" "$LOGS/$(basename "$(dirname "$f")")-$(basename "$f")"; done
    cp "$PGDIR/server.log" "$LOGS/postgres.log" 2>/dev/null
    for x in a b; do [ -d "$WORK/$x/data/logs" ] && cp -r "$WORK/$x/data/logs" "$LOGS/$x-app-logs"; done
    echo "e2e (connected): logs copied to ${LOGS#"$ROOT"/}/" >&2
  fi
  if [ -n "${LOCKBOX_E2E_KEEP:-}" ]; then echo "e2e (connected): kept $WORK and $PGDIR" >&2; else
    rm -rf "$WORK" "$PGDIR" 2>/dev/null
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' INT TERM

# Bounded wait (tenths of a second) for a condition; FAILS naming WHAT.
wait_for() { # WHAT TENTHS CMD...
  local what=$1 n=$2; shift 2
  for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
  fail_setup "$what did not happen within $(( n / 10 )) s"
}

read -r PG_PORT IDP_PORT SERVER_PORT A_TD A_NATIVE B_TD B_NATIVE < <(free_ports 7)

# ---------------------------------------------------------------- PostgreSQL
if [ "$(id -u)" = 0 ]; then chown nobody:nogroup "$PGDIR"; fi
as_pg "$PG_BIN/initdb" -A trust -U postgres --no-sync -E UTF8 --locale=C -D "$PGDIR/data" >"$WORK/initdb.log" 2>&1 ||
  { cat "$WORK/initdb.log" >&2; fail_setup "initdb failed"; }
echo "fsync = off" >>"$PGDIR/data/postgresql.conf"
PG_STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
  -o "-p $PG_PORT -k $PGDIR -c listen_addresses=127.0.0.1" start >"$WORK/pg_ctl.log" 2>&1 ||
  { cat "$WORK/pg_ctl.log" "$PGDIR/server.log" >&2; fail_setup "PostgreSQL did not start"; }
export LOCKBOX_STORE="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
export LOCKBOX_RECEIPT_KEY="$WORK/server/receipts.key"
mkdir -p "$WORK/server"
unset LOCKBOX_DB LOCKBOX_NOW LOCKBOX_TENANT LOCKBOX_SERVER LOCKBOX_API_BIND LOCKBOX_OIDC_ISSUER \
  LOCKBOX_OIDC_CLIENT_ID LOCKBOX_OIDC_CA LOCKBOX_BOOTSTRAP_ADMIN

# ---------------------------------------------------------------- OpenID provider
# It stops when its stdin closes: a FIFO this script holds open (fd 7), so it
# goes with this script even if the trap cannot run.
mkfifo "$WORK/idp.in"
(cd "$ROOT/tests/oidc" && exec node server.mjs "$IDP_PORT" <"$WORK/idp.in" >"$WORK/idp.log" 2>&1) &
PIDS+=($!)
exec 7>"$WORK/idp.in"
ISSUER="http://127.0.0.1:$IDP_PORT"
wait_for "the OpenID provider listening ($ISSUER)" 300 grep -q "^listening $ISSUER\$" "$WORK/idp.log"

# ---------------------------------------------------------------- team server
ANA=ana@contoso.example BOB=bob@contoso.example
cli() { "$CLI" "$@" >>"$WORK/server/setup.log" 2>&1 || { cat "$WORK/server/setup.log" >&2; fail_setup "lockbox $* failed"; }; }
# The operator (the OS user, the store's first admin) on the server's
# database: bob approves too, every request needs two customer approvals.
cli user add "$BOB" --role approver --email "$BOB"
cli settings set approvals-required 2
"$CLI" --json token issue --name ticketing >"$WORK/server/token.json" 2>>"$WORK/server/setup.log" ||
  fail_setup "lockbox token issue failed"
PROVIDER_TOKEN=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).token' "$WORK/server/token.json")
"$CLI" serve --bind "127.0.0.1:$SERVER_PORT" --rate 1000 --oidc-issuer "$ISSUER" --oidc-client-id lockbox-desktop \
  --bootstrap-admin "$ANA" >"$WORK/server/serve.out" 2>"$WORK/server/serve.log" &
PIDS+=($!)
SERVER="http://127.0.0.1:$SERVER_PORT"
ready() { node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$SERVER/readyz"; }
wait_for "lockbox serve ready at $SERVER" 600 ready

# ---------------------------------------------------------------- two apps
start_app() { # NAME LOGIN TD_PORT NATIVE_PORT
  local x=$1 login=$2 port=$3 native=$4 d="$WORK/$1"
  mkdir -p "$d"/{home,run,data,xdg/config,xdg/data,xdg/cache,xdg/state}
  chmod 700 "$d/home" "$d/run"
  # A display of its own: Xvfb picks a free one and writes its number.
  Xvfb -displayfd 8 -screen 0 1400x900x24 -nolisten tcp 8>"$d/display" >"$d/xvfb.log" 2>&1 &
  PIDS+=($!)
  wait_for "Xvfb for app $x" 300 test -s "$d/display"
  local display=":$(head -1 "$d/display")"
  # A session bus of its own, and GNOME Keyring's Secret Service on it
  # (the login keyring created unlocked with the password on its stdin).
  dbus-daemon --session --nofork --nopidfile --address="unix:path=$d/bus" >"$d/dbus.log" 2>&1 &
  PIDS+=($!)
  wait_for "the session bus of app $x" 100 test -S "$d/bus"
  local bus="unix:path=$d/bus"
  printf 'lockbox-test-keyring' | DBUS_SESSION_BUS_ADDRESS="$bus" HOME="$d/home" XDG_DATA_HOME="$d/home/data" \
    XDG_RUNTIME_DIR="$d/run" gnome-keyring-daemon --foreground --unlock --components=secrets >"$d/keyring.log" 2>&1 &
  PIDS+=($!)
  secrets_up() {
    dbus-send --bus="$1" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
  }
  wait_for "the Secret Service of app $x" 100 secrets_up "$bus"
  # A notification daemon on its display and bus (dunst), and dbus-monitor
  # writing every Notify call the app makes to $d/notify.log.
  mkdir -p "$d/dunst-config"
  DISPLAY="$display" DBUS_SESSION_BUS_ADDRESS="$bus" XDG_CONFIG_HOME="$d/dunst-config" dunst >"$d/dunst.log" 2>&1 &
  PIDS+=($!)
  notifications_up() {
    dbus-send --bus="$1" --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null | grep -q "boolean true"
  }
  wait_for "dunst on the session bus of app $x" 100 notifications_up "$bus"
  dbus-monitor --address "$bus" "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
    >"$d/notify.log" 2>"$d/dbus-monitor.log" &
  PIDS+=($!)
  wait_for "dbus-monitor on the session bus of app $x" 100 test -s "$d/notify.log"
  # The person's browser: a real one (MiniBrowser driven by WebKitWebDriver, on
  # the app's display) in which browser.mjs signs LOGIN in at the provider.
  printf '#!/bin/sh\nLOCKBOX_WEBKIT_DRIVER=%q LOCKBOX_BROWSER_SHOTS=%q exec node %q %q "$1" >>%q 2>&1\n' \
    "$LOCKBOX_E2E_WEBKIT_DRIVER" "$SHOTS/19-sign-in-$x-" "$ROOT/tests/oidc/browser.mjs" "$login" "$d/browser.log" >"$d/browser.sh"
  chmod 755 "$d/browser.sh"
  # LOCKBOX_E2E_RUN marks tauri-driver and what it starts, for cleanup.
  env -u LOCKBOX_STORE -u LOCKBOX_RECEIPT_KEY DISPLAY="$display" DBUS_SESSION_BUS_ADDRESS="$bus" HOME="$d/home" XDG_RUNTIME_DIR="$d/run" \
    XDG_CONFIG_HOME="$d/xdg/config" XDG_DATA_HOME="$d/xdg/data" XDG_CACHE_HOME="$d/xdg/cache" XDG_STATE_HOME="$d/xdg/state" \
    LOCKBOX_DB="$d/data/lockbox.db" LOCKBOX_API_BIND=127.0.0.1:0 BROWSER="$d/browser.sh" NO_AT_BRIDGE=1 \
    LOCKBOX_E2E_RUN="$WORK" \
    "$LOCKBOX_E2E_TAURI_DRIVER" --port "$port" --native-port "$native" --native-driver "$LOCKBOX_E2E_WEBKIT_DRIVER" \
    >"$d/tauri-driver.log" 2>&1 &
  TD_PIDS+=($!)
  wait_for "tauri-driver of app $x on :$port" 300 port_open "$port"
  echo "== app $x ($login): display $display, bus $bus, tauri-driver :$port"
}
start_app a "$ANA" "$A_TD" "$A_NATIVE"
start_app b "$BOB" "$B_TD" "$B_NATIVE"

# ---------------------------------------------------------------- the tests
export LOCKBOX_E2E_APP="$APP" LOCKBOX_E2E_CLI="$CLI" LOCKBOX_E2E_SHOTS="$SHOTS" LOCKBOX_E2E_WORK="$WORK"
export LOCKBOX_E2E_DRIVER_A="http://127.0.0.1:$A_TD/" LOCKBOX_E2E_DRIVER_B="http://127.0.0.1:$B_TD/"
export LOCKBOX_E2E_SERVER="$SERVER" LOCKBOX_E2E_PROVIDER_TOKEN="$PROVIDER_TOKEN" LOCKBOX_E2E_ISSUER="$ISSUER"
export LOCKBOX_E2E_ANA="$ANA" LOCKBOX_E2E_BOB="$BOB"
mkdir -p "$SHOTS"
cd "$E2E"
node_limit=$(( TIMEOUT_S > 120 ? TIMEOUT_S - 60 : TIMEOUT_S / 2 ))
run_tests "$WORK" "$node_limit" "$@" ./connected.test.mjs
