#!/usr/bin/env bash
# Headless run of the real desktop app (Xvfb + a session D-Bus + the dunst
# notification daemon) on a temp store. Checks, with the real clock:
#  1. a request filed with the CLI is announced by an OS notification (a Notify
#     call seen on the session bus) within 3 s, and the tray reports 1 pending;
#  2. a request with a 5 s lifetime is marked expired by the app within 1 s of
#     its deadline, with no CLI call in between;
#  3. after a restart the first notification is not shown again;
#  4. provider-sent markup reaches the daemon escaped: dunst renders body
#     markup and links, so an engineer named <a href=…> must show as text;
#  5. a click leads to the request: dunst invokes the notification's default
#     action (`dunstctl action 0`, so dunst itself emits ActionInvoked(id,
#     "default") to the app's connection), and the window reports that it
#     shows the request's details (the UI's `ui_shown` → "window shows" log);
#     the "Open" button's key, sent as a broadcast ActionInvoked(id, "open")
#     signal (dbus-send), does the same; the tray lists the pending request
#     and drops it once decided;
#  6. a burst of 50 new requests raises exactly one notification (one Notify
#     call on the bus), "50 new Customer Lockbox requests", and its click
#     opens Service requests filtered to pending;
#  7. a start whose hand-off to the running app is lost (that app died before
#     answering) begins again and becomes the running app.
# Also saves screenshots of the window: target/screenshots/app-start.png, and
# notification-click.png (the request's details after the click).
# Usage: tests/headless/run.sh (after `cargo build -p lockbox-app -p lockbox-cli`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${LOCKBOX_HEADLESS_INNER:-}" ]; then
  export LOCKBOX_HEADLESS_INNER=1
  exec timeout 300 xvfb-run -a -s "-screen 0 1400x900x24 -nolisten tcp" dbus-run-session -- "$0" "$@"
fi

APP="$ROOT/target/debug/lockbox-app"
CLI="$ROOT/target/debug/lockbox"
WORK=$(mktemp -d)
export LOCKBOX_DB="$WORK/lockbox.db" NO_AT_BRIDGE=1 LOCKBOX_API_BIND=127.0.0.1:0
SHOTS="$ROOT/target/screenshots"; mkdir -p "$SHOTS"
pass=0; fail=0
ok()   { echo "ok: $*"; pass=$((pass+1)); }
bad()  { echo "FAIL: $*"; fail=$((fail+1)); }
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# wait_for FILE PATTERN SECONDS: poll (50 ms) until PATTERN appears in FILE.
wait_for() {
  local deadline=$(( $(date +%s%N) + $3 * 1000000000 ))
  while [ "$(date +%s%N)" -lt "$deadline" ]; do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

dunst >"$WORK/dunst.log" 2>&1 &
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" >"$WORK/monitor.log" 2>&1 &
sleep 0.5

start_app() {
  "$APP" >"$WORK/app$1.log" 2>&1 &
  APP_PID=$!
  wait_for "$WORK/app$1.log" "tray updated" 60 || { cat "$WORK/app$1.log"; bad "app $1 did not start"; exit 1; }
}

"$CLI" settings show >/dev/null   # create the store; admin is its first admin
start_app 1
sleep 2   # let the window paint
import -window root "$SHOTS/app-start.png" && ok "screenshot saved: target/screenshots/app-start.png"

# 1. Notification and tray for a new pending request.
ID1=$("$CLI" --json request new --engineer eng.headless --case SR-HEADLESS-1 --workload "Exchange Online" \
      --resource "Mailbox: ops@contoso.example" --reason "Headless check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
t_file=$(date +%s%N)
"$CLI" request provider-approve "$ID1" --as mgr.headless >/dev/null
if wait_for "$WORK/monitor.log" "Customer Lockbox request from eng.headless" 3; then
  ok "Notify call for the pending request within $(( ($(date +%s%N) - t_file) / 1000000 )) ms"
else
  bad "no Notify call within 3 s"; cat "$WORK/monitor.log"
fi
if wait_for "$WORK/app1.log" "tray updated pending=1" 3; then ok "tray reports 1 pending"; else bad "tray did not report 1 pending"; fi

# 5. Clicks lead to the request; the tray lists it while pending.
for tool in dunstctl dbus-send; do command -v "$tool" >/dev/null || { bad "$tool is missing (apt-get install dunst dbus)"; exit 1; }; done
if wait_for "$WORK/app1.log" 'tray updated pending=1 .*items=\["SR-HEADLESS-1 · eng.headless · Exchange Online"\]' 3; then
  ok "the tray menu lists the pending request"
else
  bad "the tray does not list the pending request"; grep "tray updated" "$WORK/app1.log" | tail -3
fi
dunstctl close-all; sleep 0.3
ID4=$("$CLI" --json request new --engineer eng.click --case SR-HEADLESS-CLICK --workload SharePoint \
      --resource "Site: /sites/finance" --reason "Click check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
"$CLI" request provider-approve "$ID4" --as mgr.headless >/dev/null
if wait_for "$WORK/app1.log" "notification sent request=$ID4 kind=pending id=[0-9]" 5; then
  sleep 0.5   # the app's wait for the click subscribes right after Notify returns
  shown=$(dunstctl count displayed)
  t_click=$(date +%s%N)
  dunstctl action 0
  if wait_for "$WORK/app1.log" "notification clicked.*route=requests?request=$ID4&tenant=default" 3 &&
     wait_for "$WORK/app1.log" "window shows route=requests?request=$ID4" 10; then
    ok "clicking the notification (dunst's ActionInvoked default, $shown displayed) showed request $ID4 in $(( ($(date +%s%N) - t_click) / 1000000 )) ms"
    sleep 0.5; import -window root "$SHOTS/notification-click.png" && ok "screenshot saved: target/screenshots/notification-click.png"
    left=$(dunstctl count displayed)
    if [ "$left" = 0 ]; then ok "the clicked notification was closed"; else bad "$left notifications still shown after the click"; fi
  else
    bad "the click did not show request $ID4"; grep -E "clicked|window shows|notification" "$WORK/app1.log" | tail -5
  fi
else
  bad "no notification for the click request"; tail -5 "$WORK/app1.log"
fi
# The "Open" button: dunst offers it in its context menu (dmenu, not scriptable
# here), so send its key as the signal dunst would; the app listens for it on
# the notification's own connection (a broadcast reaches it too).
ID5=$("$CLI" --json request new --engineer eng.open --case SR-HEADLESS-OPEN --workload Teams \
      --resource "Team: Ops" --reason "Open button check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
"$CLI" request provider-approve "$ID5" --as mgr.headless >/dev/null
if wait_for "$WORK/app1.log" "notification sent request=$ID5 kind=pending id=[0-9]" 5; then
  NID5=$(grep "request=$ID5 kind=pending id=" "$WORK/app1.log" | sed -E 's/.* id=([0-9]+) .*/\1/' | head -1)
  sleep 0.5
  dbus-send --session --type=signal /org/freedesktop/Notifications org.freedesktop.Notifications.ActionInvoked "uint32:$NID5" string:open
  if wait_for "$WORK/app1.log" "window shows route=requests?request=$ID5" 10; then
    ok "the Open action (ActionInvoked $NID5 \"open\") showed request $ID5"
  else
    bad "the Open action did not show request $ID5"; grep -E "clicked|window shows" "$WORK/app1.log" | tail -5
  fi
else
  bad "no notification for the Open request"
fi
"$CLI" request reject "$ID4" --comment "done" >/dev/null
"$CLI" request reject "$ID5" --comment "done" >/dev/null
if wait_for "$WORK/app1.log" 'tray updated pending=1 .*items=\["SR-HEADLESS-1 ' 5; then
  ok "decided requests leave the tray menu"
else
  bad "the tray still lists decided requests"; grep "tray updated" "$WORK/app1.log" | tail -3
fi

# 6. A burst of 50 new requests: one notification.
dunstctl close-all
BURST=()
for i in $(seq 1 50); do
  BURST+=("$("$CLI" --json request new --engineer "eng.burst$((i % 7))" --case "SR-BURST-$i" --workload Teams \
      --resource "Team: Ops" --reason "Burst check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')")
done
before=$(grep -c 'member=Notify' "$WORK/monitor.log" || true)
t_burst=$(date +%s%N)
printf '%s\n' "${BURST[@]}" | xargs -P 4 -I{} "$CLI" request provider-approve {} --as mgr.headless >/dev/null
filed_ms=$(( ($(date +%s%N) - t_burst) / 1000000 ))
if wait_for "$WORK/app1.log" "notification sent .*kind=burst of 50" 15; then
  sleep 3   # anything else the burst would raise
  after=$(grep -c 'member=Notify' "$WORK/monitor.log" || true)
  if [ $((after - before)) = 1 ] && grep -q '"50 new Customer Lockbox requests"' "$WORK/monitor.log"; then
    ok "50 requests provider-approved in $filed_ms ms raised exactly one notification (50 new Customer Lockbox requests)"
  else
    bad "the burst raised $((after - before)) Notify calls"; grep -E "notification sent" "$WORK/app1.log" | tail -5
  fi
  dunstctl action 0
  if wait_for "$WORK/app1.log" "notification clicked.*route=requests?status=pending&tenant=default" 3 &&
     wait_for "$WORK/app1.log" "window shows route=requests?status=pending" 10; then
    ok "clicking the burst's notification showed Service requests filtered to pending"
  else
    bad "the burst's click did not show the pending requests"; grep -E "clicked|window shows" "$WORK/app1.log" | tail -5
  fi
else
  bad "no burst notification (filed in $filed_ms ms)"; grep -E "notification sent" "$WORK/app1.log" | tail -5
fi

# 2. Expiry within 1 s of the deadline, driven by the app alone.
"$CLI" settings set request-lifetime 5s >/dev/null
ID2=$("$CLI" --json request new --engineer eng.headless2 --case SR-HEADLESS-2 --workload Teams \
      --resource "Team: Ops" --reason "Expiry check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
if wait_for "$WORK/app1.log" "request=$ID2 .*state=expired\|request=$ID2.*expired" 10; then
  # recorded_at (when the app wrote it) minus at (the deadline) for the expiry entry:
  lag_ms=$("$CLI" --json audit list --request "$ID2" --operation expired | python3 -c '
import json,sys,datetime
e=json.load(sys.stdin)[0]
p=lambda s: datetime.datetime.fromisoformat(s.replace("Z","+00:00"))
print(int((p(e["recorded_at"])-p(e["at"])).total_seconds()*1000))')
  if [ "$lag_ms" -le 1000 ]; then ok "app marked the request expired $lag_ms ms after its deadline"; else bad "expired $lag_ms ms after the deadline (> 1000)"; fi
else
  bad "the app did not expire the request"; tail -20 "$WORK/app1.log"
fi

# 4. Hostile markup from the provider: escaped in the Notify call, shown as text by dunst.
EVIL='<a href="https://evil.example/approve">Approve here</a>'
ID3=$("$CLI" --json request new --engineer "$EVIL" --case "SR-<b>3</b>" --workload "Exchange Online" \
      --resource "Mailbox: <i>ops</i>" --reason "Markup check" --duration 1h | python3 -c 'import json,sys;print(json.load(sys.stdin)["id"])')
"$CLI" request provider-approve "$ID3" --as mgr.headless >/dev/null
if wait_for "$WORK/monitor.log" "SR-&lt;b&gt;3" 5; then
  ok "the body reached the daemon markup-escaped (SR-&lt;b&gt;3…)"
  # What dunst renders (its history keeps the pango markup it drew): the
  # provider's tags must be text (&lt;a …), never a tag (<a …) — no link.
  sleep 0.5; dunstctl close-all; sleep 0.3
  shown=$(dunstctl history | python3 -c '
import json,sys
for n in json.load(sys.stdin)["data"][0]:
    m=n["message"]["data"]
    if "SR-" in m and "3" in m: print(m); break')
  if [ -n "$shown" ] && ! printf '%s' "$shown" | grep -qE '<a |<i>|<b>3' &&
     printf '%s' "$shown" | grep -q '&lt;a href=' && printf '%s' "$shown" | grep -q 'SR-&lt;b&gt;3'; then
    ok "dunst shows the provider's markup as text, with no link"
  else
    bad "dunst rendered provider markup: $shown"
  fi
else
  bad "no escaped Notify call for the markup request within 5 s"; grep -n "SR-" "$WORK/monitor.log" | tail -5
fi

# 3. Restart: no duplicate notification.
kill -TERM "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
start_app 2
sleep 3
n=$(grep -c "Customer Lockbox request from eng.headless\"" "$WORK/monitor.log" || true)
if [ "$n" = "1" ]; then ok "no duplicate notification after restart"; else bad "the first notification was shown $n times"; fi

# 7. A start while the running instance quits: the start hands its arguments
# to the running app over D-Bus; that app is stopped (SIGSTOP) so the hand-off
# waits, and then dies (SIGKILL) before answering: the bus tells the start
# "recipient disconnected". The start must begin again and be the app.
dbus-monitor --session "type='method_call',member='ExecuteCallback'" >"$WORK/handoff.log" 2>&1 &
sleep 0.3
kill -STOP "$APP_PID"
"$APP" >"$WORK/app3.log" 2>&1 &
NEXT_PID=$!
if wait_for "$WORK/handoff.log" "member=ExecuteCallback" 30; then
  kill -KILL "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
  APP_PID=$NEXT_PID
  if wait_for "$WORK/app3.log" "tray updated" 60 && grep -q "starting again (1 of" "$WORK/app3.log" && kill -0 "$NEXT_PID" 2>/dev/null; then
    ok "a start whose hand-off was lost (the running app quit) begins again and runs"
  else
    bad "the start whose hand-off was lost did not become the app"; tail -5 "$WORK/app3.log"
  fi
else
  kill -CONT "$APP_PID"
  bad "the second start never handed over to the running app (no ExecuteCallback call in 30 s)"; tail -5 "$WORK/app3.log"
fi
grep -q "panicked" "$WORK"/app*.log && bad "the app panicked" || true

echo "headless: $pass passed, $fail failed"
[ "$fail" = 0 ]
