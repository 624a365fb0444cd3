#!/usr/bin/env bash
# Installs the kiosk on a kiosk PC (Debian 12). Run as root from a source checkout:
#   deploy/install.sh            build (release) and install
#   deploy/install.sh BINARY     install a prebuilt binary
# Keeps the previous binary as /usr/local/bin/kiosk.previous for rollback
# (see docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo deploy/install.sh)" >&2; exit 2; }

if [ $# -ge 1 ]; then
  bin=$1
else
  deploy/deps.sh build
  cargo build --release --locked
  bin=target/release/kiosk
fi
"$bin" --version >/dev/null

id kiosk >/dev/null 2>&1 || useradd --system --home-dir /var/lib/kiosk --shell /usr/sbin/nologin kiosk
for g in video input render dialout audio; do getent group "$g" >/dev/null && usermod -aG "$g" kiosk; done
install -d -o kiosk -g kiosk -m 0700 /var/lib/kiosk
install -d -m 0755 /etc/kiosk
[ -f /etc/kiosk/kiosk.toml ] || install -m 0644 deploy/kiosk.example.toml /etc/kiosk/kiosk.toml
"$bin" --config /etc/kiosk/kiosk.toml diag --config-only

[ -f /usr/local/bin/kiosk ] && cp -p /usr/local/bin/kiosk /usr/local/bin/kiosk.previous
install -m 0755 "$bin" /usr/local/bin/kiosk.new
mv -f /usr/local/bin/kiosk.new /usr/local/bin/kiosk

install -m 0644 deploy/99-kiosk.rules /etc/udev/rules.d/99-kiosk.rules
udevadm control --reload && udevadm trigger || true
install -m 0644 deploy/kiosk.service /etc/systemd/system/kiosk.service
install -d /etc/systemd/journald.conf.d
install -m 0644 deploy/journald-kiosk.conf /etc/systemd/journald.conf.d/kiosk.conf
systemctl daemon-reload
systemctl restart systemd-journald || true
timedatectl set-timezone Asia/Shanghai || true
timedatectl set-ntp true || true
systemctl enable --now kiosk.service
echo "installed; set the admin PIN with: sudo -u kiosk kiosk --config /etc/kiosk/kiosk.toml diag --set-pin (or print a one-time code for setting it on the touchscreen: ... diag --setup-code)"
