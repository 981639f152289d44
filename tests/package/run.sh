#!/usr/bin/env bash
# The .deb as an admin meets it (`make test-package`, after `make package`):
#   dpkg -i; the CLI, its man pages and completions, the desktop app and
#   lockbox.service are where they belong and the `lockbox` system user exists;
#   `lockbox serve` runs as the unit says (systemd is not PID 1 here, so
#   User=/Group=, Environment=, EnvironmentFile=, StateDirectory=, UMask=,
#   NoNewPrivileges= and ExecStart= are read from the installed unit and
#   applied with setpriv); /healthz, /readyz and a provider call answer; SIGTERM
#   stops it with exit 0; dpkg -r removes every shipped file and dpkg -P purges.
# Every missing tool is a failure that names it. Root only (dpkg).
set -euo pipefail

die() { echo "error: tests/package: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "give exactly one .deb (make package builds it; got $#: $*)"
DEB=$1
[ -f "$DEB" ] || die "no package $DEB (make package)"
[ "$(id -u)" = 0 ] || die "run as root: it installs the package with dpkg"
for tool in dpkg dpkg-deb dpkg-query setpriv man curl getent useradd userdel stat python3 systemd-analyze bash; do
  command -v "$tool" >/dev/null || die "'$tool' is missing (make deps installs it)"
done

PKG=$(dpkg-deb -f "$DEB" Package)
VERSION=$(dpkg-deb -f "$DEB" Version)
UNIT=/usr/lib/systemd/system/lockbox.service
ENVFILE=/etc/lockbox/serve.env
passed=0 failed=0
ok()   { passed=$((passed + 1)); echo "ok - $*"; }
bad()  { failed=$((failed + 1)); echo "FAIL - $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# What this test creates on the machine; nothing of the admin's is touched.
# MARK says "this test installed the package": a run that was cut off (a CI job
# killed inside dpkg) leaves it behind, and only then is an installed package
# this test's own to remove.
MARK=/var/tmp/lockbox-package-test.installed
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok installed\|half-\|unpacked"; then
  [ -e "$MARK" ] \
    || die "$PKG is already installed: this test installs and removes it (dpkg -P $PKG first)"
  echo "# removing the $PKG an earlier, interrupted run of this test installed"
  dpkg -P "$PKG" || die "dpkg -P $PKG (left by an interrupted run) failed"
  rm -f "$ENVFILE"; rmdir /etc/lockbox 2>/dev/null || true
fi
rm -f "$MARK"
[ ! -e "$ENVFILE" ] || die "$ENVFILE exists: this test writes its own (move it away first)"
if getent passwd lockbox >/dev/null; then
  # Left by an earlier run of this test (the package keeps the user, by design).
  [ "$(getent passwd lockbox | cut -d: -f5)" = "Lockbox server" ] \
    || die "a user 'lockbox' exists that the package did not create"
  userdel lockbox
fi
rm -rf /var/lib/lockbox
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill -KILL "$SERVE_PID" 2>/dev/null || true
  rm -f "$ENVFILE"; rmdir /etc/lockbox 2>/dev/null || true
  dpkg -P "$PKG" >/dev/null 2>&1 && rm -f "$MARK"
  getent passwd lockbox >/dev/null && userdel lockbox
  rm -rf /var/lib/lockbox
}
trap cleanup EXIT

SHIPPED=(
  /usr/bin/lockbox
  /usr/bin/lockbox-app
  /usr/share/man/man1/lockbox.1.gz
  /usr/share/man/man1/lockbox-serve.1.gz
  /usr/share/bash-completion/completions/lockbox
  /usr/share/zsh/vendor-completions/_lockbox
  /usr/share/fish/vendor_completions.d/lockbox.fish
  "$UNIT"
)
# The data archive's paths, without a leading ./ (dpkg-deb and tauri differ).
listing=$(dpkg-deb -c "$DEB" | awk '{print $NF}' | sed 's#^\./##')
for f in "${SHIPPED[@]}"; do
  check "the package holds $f" grep -qxF "${f#/}" <<<"$listing"
done

echo "# dpkg -i $DEB"
touch "$MARK"
dpkg -i "$DEB" || die "dpkg -i $DEB failed"

for f in "${SHIPPED[@]}"; do check "installed: $f" test -s "$f"; done
check "lockbox is executable" test -x /usr/bin/lockbox
check "lockbox --version is the package's ($VERSION)" \
  test "$(/usr/bin/lockbox --version)" = "lockbox $VERSION"
check "man -w lockbox finds the installed page" \
  test "$(man -w lockbox)" = /usr/share/man/man1/lockbox.1.gz
check "man -w lockbox-serve finds the installed page" \
  test "$(man -w lockbox-serve)" = /usr/share/man/man1/lockbox-serve.1.gz
check "man lockbox renders, naming serve" \
  bash -c 'MANWIDTH=80 man lockbox 2>/dev/null | grep -q "lockbox-serve"'
check "the bash completion parses and completes serve" \
  bash -c 'bash -n /usr/share/bash-completion/completions/lockbox &&
           source /usr/share/bash-completion/completions/lockbox &&
           COMP_WORDS=(lockbox ser) COMP_CWORD=1 COMP_LINE="lockbox ser" COMP_POINT=11 &&
           _lockbox lockbox ser lockbox && [[ " ${COMPREPLY[*]} " == *" serve "* ]]'
check "the zsh completion is lockbox's" grep -q '^#compdef lockbox' /usr/share/zsh/vendor-completions/_lockbox
check "the fish completion is lockbox's" grep -q '^complete -c lockbox' /usr/share/fish/vendor_completions.d/lockbox.fish
check "systemd-analyze verify accepts the unit" systemd-analyze verify "$UNIT"
check "postinst made the system user lockbox" bash -c "getent passwd lockbox >/dev/null"
check "lockbox is a system user without a login shell" \
  bash -c '[ "$(getent passwd lockbox | cut -d: -f3)" -lt 1000 ] &&
           [ "$(getent passwd lockbox | cut -d: -f7)" = /usr/sbin/nologin ]'

# --- lockbox serve as the installed unit runs it --------------------------
unit_values() { sed -n "s/^$1=//p" "$UNIT"; }
USER_=$(unit_values User); GROUP_=$(unit_values Group)
STATE=/var/lib/$(unit_values StateDirectory)
STATE_MODE=$(unit_values StateDirectoryMode); UMASK_=$(unit_values UMask)
EXEC=$(unit_values ExecStart)
[ -n "$USER_" ] && [ -n "$GROUP_" ] && [ -n "$EXEC" ] && [ -n "$STATE_MODE" ] && [ -n "$UMASK_" ] \
  || die "cannot read User/Group/ExecStart/StateDirectoryMode/UMask from $UNIT"
check "the unit hardens the service" \
  bash -c "grep -qx NoNewPrivileges=yes $UNIT && grep -qx ProtectSystem=strict $UNIT && grep -qx KillSignal=SIGTERM $UNIT"

# The admin's configuration, the documented way: a port of this test's.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p /etc/lockbox
printf 'LOCKBOX_API_BIND=127.0.0.1:%s\nLOCKBOX_LOG_FORMAT=json\n' "$PORT" > "$ENVFILE"

# Environment= lines, then EnvironmentFile= (later assignments win, as in systemd).
declare -A ENV=([PATH]=/usr/sbin:/usr/bin:/sbin:/bin [HOME]=$STATE [USER]=$USER_ [LOGNAME]=$USER_)
while IFS= read -r kv; do ENV[${kv%%=*}]=${kv#*=}; done < <(unit_values Environment)
while IFS= read -r file; do
  file=${file#-}
  [ -f "$file" ] || continue
  while IFS= read -r kv; do
    [[ $kv =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] && ENV[${kv%%=*}]=${kv#*=}
  done < "$file"
done < <(unit_values EnvironmentFile)
# ExecStart's $VAR (split into words) and ${VAR} (one word), as systemd expands them.
ARGV=()
set -f
for w in $EXEC; do
  if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
    v=${ENV[${BASH_REMATCH[1]}]:-}; [ -z "$v" ] || ARGV+=($v)
  elif [[ $w =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$ ]]; then
    ARGV+=("${ENV[${BASH_REMATCH[1]}]:-}")
  else
    ARGV+=("$w")
  fi
done
set +f
ENV_ARGS=(); for k in "${!ENV[@]}"; do ENV_ARGS+=("$k=${ENV[$k]}"); done
# StateDirectory=: systemd creates it, owned by User=, with StateDirectoryMode=.
install -d -o "$USER_" -g "$GROUP_" -m "$STATE_MODE" "$STATE"

echo "# as $USER_:$GROUP_ (umask $UMASK_, no new privileges): ${ARGV[*]}"
LOG=$(mktemp)
(umask "$UMASK_"; exec setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups --no-new-privs \
   env -i "${ENV_ARGS[@]}" "${ARGV[@]}") >"$LOG.out" 2>"$LOG" &
SERVE_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 150); do
  curl -sf "$BASE/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$LOG" >&2; die "lockbox serve exited at start"; }
  sleep 0.2
done
check "GET /healthz is 200 {\"status\":\"ok\"}" test "$(curl -sf "$BASE/healthz")" = '{"status":"ok"}'
check "GET /readyz is 200 {\"status\":\"ok\"}" test "$(curl -sf "$BASE/readyz")" = '{"status":"ok"}'
check "the server runs as $USER_" test "$(ps -o user= -p "$SERVE_PID" | tr -d ' ')" = "$USER_"
check "the store is in $STATE: the folder $USER_'s, $STATE_MODE; the file $USER_'s, 0600" \
  test "$(stat -c '%U %a' "$STATE" "$STATE/lockbox.db" | tr '\n' ' ')" = "$USER_ ${STATE_MODE#0} $USER_ 600 "
check "the log is JSON lines (LOCKBOX_LOG_FORMAT from $ENVFILE)" \
  python3 -c 'import json,sys; ls=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; assert ls and all("level" in l for l in ls), ls' "$LOG"
# An admin issues a provider token as the service user; the provider uses it.
TOKEN=$(setpriv --reuid="$USER_" --regid="$GROUP_" --init-groups env -i "${ENV_ARGS[@]}" \
  /usr/bin/lockbox token issue --name ci --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])') \
  || die "lockbox token issue as $USER_ failed"
check "a provider call with that token is answered" \
  bash -c "curl -sf -H 'Authorization: Bearer $TOKEN' '$BASE/v1/public-key' | grep -q Ed25519"

kill -TERM "$SERVE_PID"
for _ in $(seq 150); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.2; done
if kill -0 "$SERVE_PID" 2>/dev/null; then bad "lockbox serve stops within 30 s of SIGTERM"; fi
rc=0; wait "$SERVE_PID" || rc=$?
SERVE_PID=
check "SIGTERM: lockbox serve exits 0 (was $rc)" test "$rc" = 0
check "SIGTERM: it logged its shutdown" grep -q '"signal":"SIGTERM"' "$LOG"
rm -f "$LOG" "$LOG.out"

echo "# dpkg -r $PKG"
dpkg -r "$PKG" || die "dpkg -r $PKG failed"
for f in "${SHIPPED[@]}"; do check "removed: $f" test ! -e "$f"; done
check "the store (audit records) survives removal" test -f "$STATE/lockbox.db"
echo "# dpkg -P $PKG"
dpkg -P "$PKG" || die "dpkg -P $PKG failed"
check "purged: dpkg knows no $PKG" \
  bash -c "! dpkg-query -W -f='\${Status}' '$PKG' 2>/dev/null | grep -q installed"
check "nothing of $PKG is left under /usr" \
  bash -c '! ls /usr/bin/lockbox* /usr/share/man/man1/lockbox* /usr/lib/systemd/system/lockbox* 2>/dev/null | grep -q .'

echo "package: $passed passed, $failed failed"
[ "$failed" = 0 ]
