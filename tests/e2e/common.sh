# Shell helpers of the end-to-end runs (sourced by run.sh and connected.sh).

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# N distinct free TCP ports on 127.0.0.1, on one line.
free_ports() {
  node -e '
const net = require("net");
const get = () => new Promise((res) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); }); });
(async () => { const seen = new Set(); while (seen.size < Number(process.argv[1])) seen.add(await get()); console.log([...seen].join(" ")); })();' "$1"
}

# run_tests WORK LIMIT_S [node --test args] FILE...: the tests, serially, the
# spec reporter on the console and TAP in WORK/results.tap; writes
# "e2e: P passed, F failed" to $LOCKBOX_E2E_RESULT (0 and 0 when a name
# pattern left nothing to run here). Returns 0 only if none failed. Sets
# NODE_PID while node runs (for the caller's cleanup).
run_tests() {
  local work=$1 limit=$2 node_rc pass fail cancelled
  shift 2
  set +e
  # Three reporters add one listener too many for node's leak warning.
  timeout --kill-after=15 "$limit" node --disable-warning=MaxListenersExceededWarning \
    --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$work/results.tap" \
    --test-reporter=spec --test-reporter-destination="$work/results.spec" \
    "$@" &
  NODE_PID=$!
  wait "$NODE_PID"
  node_rc=$?
  NODE_PID=""
  set -e
  [ "$node_rc" = 124 ] && echo "e2e: TIMED OUT: the tests ran longer than $limit s"
  [ -f "$work/results.tap" ] || : >"$work/results.tap"
  pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/results.tap" | tail -1)
  fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/results.tap" | tail -1)
  cancelled=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$work/results.tap" | tail -1)
  if [ -z "$pass" ]; then
    # No summary (the run was cut short): count the tests that finished, plus one failure.
    pass=$(grep -cE '^ *ok [0-9]+ - ' "$work/results.tap" 2>/dev/null || true)
    fail=$(( $(grep -cE '^ *not ok [0-9]+ - ' "$work/results.tap" 2>/dev/null || true) + 1 ))
  fi
  pass=${pass:-0}; fail=$(( ${fail:-0} + ${cancelled:-0} ))
  if [ "$node_rc" != 0 ] && [ "$fail" = 0 ]; then fail=1; fi
  echo "e2e: $pass passed, $fail failed" >"${LOCKBOX_E2E_RESULT:-/dev/null}"
  # The failures' messages, for run.sh to print again at the very end (where
  # a CI log's tail is read), not only above the next run's output.
  if [ "$fail" != 0 ] && [ -n "${LOCKBOX_E2E_RESULT:-}" ] && [ -f "$work/results.spec" ]; then
    sed -n '/failing tests:/,$p' "$work/results.spec" | head -n 120 >"$LOCKBOX_E2E_RESULT.failures"
  fi
  [ "$fail" = 0 ]
}
