#!/usr/bin/env bash
# One-time set-up of a fresh machine: system packages (as root, Debian/Ubuntu), the npm
# dependencies, and the build. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_apt+=(nats-server)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing ${need_apt[*]}: run as root, or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian package starts a system nats-server where systemd runs; Troupe starts its own.

# `npm install`, not `npm ci`: npm's lock omits msgpackr's optional per-platform packages for
# other platforms and `npm ci` then refuses it as out of sync; install still follows the lock.
npm install --no-audit --no-fund
npm run build
