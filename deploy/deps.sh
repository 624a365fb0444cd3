#!/usr/bin/env bash
# Installs the Debian packages the kiosk needs, and only those that are missing.
#   deploy/deps.sh build   — to build and run the kiosk
#   deploy/deps.sh test    — to build and run the whole test suite (includes build)
set -euo pipefail

build=(pkg-config libclang-dev libudev-dev libfontconfig1-dev libxkbcommon-dev libxkbcommon-x11-0
       libinput-dev libasound2-dev libgbm-dev libseat-dev libx11-xcb1 libxcursor1 libxi6 libxrandr2)
test=(zbar-tools poppler-utils xvfb xauth xdotool imagemagick chromium chromium-driver espeak-ng sox
      fonts-wqy-microhei util-linux procps openssl)

case "${1:-build}" in
  build) want=("${build[@]}") ;;
  test) want=("${build[@]}" "${test[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The PostgreSQL tests (issue #17) start a throwaway server from initdb (openssl, above,
# makes the TLS test server's certificates):
# any PostgreSQL on PATH or under /usr/lib/postgresql does, else Debian's package.
if [ "${1:-build}" = test ] && ! command -v initdb >/dev/null 2>&1 \
   && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#want[@]} Debian packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
