#!/usr/bin/env bash
# The whole test suite, as README's second command and CI run it: Debian packages,
# formatting, lints (warnings are errors), then every test. Prints each phase's time.
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
phase test cargo test --locked
