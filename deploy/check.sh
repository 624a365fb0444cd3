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
# The test run, in two lanes. The 200-session soak (tests/e2e/soak.rs, one kiosk process)
# holds one core for about four minutes while the rest of the suite holds the other: so
# the soak runs beside everything else, and the printer binary (emulators on ptys, serial
# timeouts: it mostly waits, ≈ 0.2 of a core) runs after it in the same lane, while the
# other lane is still busy. The lane's output is printed whole when both are done.
# Nothing is skipped: the second lane runs every other test binary (found the way cargo
# finds them, so a new one is run without being listed here), the unit and doc tests. The
# soak's name is matched exactly: were it renamed, the second lane would simply run it too.
SOAK=soak::sessions_back_to_back_do_not_leak_memory_or_files
BESIDE=printer
tests() {
  local lane_log lane_pid rest=0 lane=0 targets=() f n
  for f in tests/*.rs tests/*/main.rs; do
    n=${f#tests/}; n=${n%.rs}; n=${n%/main}
    [ "$n" = "$BESIDE" ] || targets+=(--test "$n")
  done
  lane_log=$(mktemp)
  { cargo test --locked --test e2e -- --exact "$SOAK" && cargo test --locked --test "$BESIDE"; } >"$lane_log" 2>&1 &
  lane_pid=$!
  trap "kill $lane_pid 2>/dev/null || true" EXIT
  cargo test --locked --lib --bins "${targets[@]}" -- --exact --skip "$SOAK" || rest=$?
  cargo test --locked --doc || rest=$?
  wait "$lane_pid" || lane=$?
  echo "== the soak, then $BESIDE (run beside the rest):"
  cat "$lane_log"
  rm -f "$lane_log"
  trap - EXIT
  [ "$rest" -eq 0 ] && [ "$lane" -eq 0 ]
}
phase test tests
