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
phase test cargo test --locked
