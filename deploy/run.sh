#!/usr/bin/env bash
# Builds and runs the kiosk on a fresh machine (README's first command).
# With no camera, printer or network it runs on embedded defaults: the built-in replay
# frames, the local reference review centre and receipts as PDF in the data directory.
# With a display it opens the touch UI; without one it runs the same flow headless and
# prints where the receipt went. Extra arguments go to `kiosk` (e.g. `run --headless`).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/deps.sh build
exec cargo run --locked --quiet -- "${@:-run}"
