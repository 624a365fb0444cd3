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
# for about four and a half minutes while the rest of the suite holds the other: so the
# soak runs beside everything else, and so does the printer binary (emulators on ptys,
# serial timeouts: it mostly waits, ≈ 0.2 of a core, and would otherwise lengthen one of
# the two). Their output is printed whole when all are done. Nothing is skipped: the main
# command runs every other test binary (found the way cargo finds them, so a new one is run
# without being listed here), the unit and the doc tests. The soak's name is matched
# exactly: were it renamed, the main command would simply run it too.
SOAK=soak::sessions_back_to_back_do_not_leak_memory_or_files
BESIDE=printer
tests() {
  local soak_log beside_log soak_pid beside_pid rest=0 soak=0 beside=0 targets=() f n
  for f in tests/*.rs tests/*/main.rs; do
    n=${f#tests/}; n=${n%.rs}; n=${n%/main}
    [ "$n" = "$BESIDE" ] || targets+=(--test "$n")
  done
  soak_log=$(mktemp)
  beside_log=$(mktemp)
  cargo test --locked --test e2e -- --exact "$SOAK" >"$soak_log" 2>&1 &
  soak_pid=$!
  cargo test --locked --test "$BESIDE" >"$beside_log" 2>&1 &
  beside_pid=$!
  trap "kill $soak_pid $beside_pid 2>/dev/null || true" EXIT
  cargo test --locked --lib --bins "${targets[@]}" -- --exact --skip "$SOAK" || rest=$?
  cargo test --locked --doc || rest=$?
  wait "$soak_pid" || soak=$?
  wait "$beside_pid" || beside=$?
  echo "== $BESIDE (run beside the rest):"
  cat "$beside_log"
  echo "== the soak (run beside the rest):"
  cat "$soak_log"
  rm -f "$soak_log" "$beside_log"
  trap - EXIT
  [ "$rest" -eq 0 ] && [ "$soak" -eq 0 ] && [ "$beside" -eq 0 ]
}
phase test tests
