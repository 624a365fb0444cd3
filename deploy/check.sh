#!/usr/bin/env bash
# The whole test suite, as README's second command and CI run it: Debian packages,
# formatting, lints (warnings are errors), the build of every test binary, then every
# test. Prints each phase's time; the build and the run are apart, so a cold
# dependency build shows as the difference between a cold and a warm `build` phase.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() {
  local name=$1; shift
  local t0=$SECONDS
  echo "== $name"
  "$@"
  echo "== $name: $((SECONDS - t0)) s"
}
phase deps deploy/deps.sh test
phase fmt cargo fmt --all -- --check
phase clippy cargo clippy --all-targets --locked -- -D warnings
phase build cargo test --locked --no-run
# The test run. The 200-session soak (tests/e2e/soak.rs, one kiosk process) holds one core
# for about six minutes while the rest of the suite, much of it waiting on ptys, HTTP and
# timers, would leave the other idle; so the soak runs beside everything else, and its
# output is printed whole when both are done. Nothing is skipped: the second command runs
# every test (doc tests included) but the soak, the first runs the soak alone. The name is
# matched exactly: were the soak renamed, the second command would simply run it too.
SOAK=soak::sessions_back_to_back_do_not_leak_memory_or_files
tests() {
  local soak_log soak_pid rest=0 soak=0
  soak_log=$(mktemp)
  cargo test --locked --test e2e -- --exact "$SOAK" >"$soak_log" 2>&1 &
  soak_pid=$!
  trap "kill $soak_pid 2>/dev/null || true" EXIT
  cargo test --locked -- --exact --skip "$SOAK" || rest=$?
  wait "$soak_pid" || soak=$?
  echo "== the soak (run beside the rest):"
  cat "$soak_log"
  rm -f "$soak_log"
  trap - EXIT
  [ "$rest" -eq 0 ] && [ "$soak" -eq 0 ]
}
phase test tests
