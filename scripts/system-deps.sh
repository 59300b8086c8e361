#!/usr/bin/env bash
# Installs the Debian packages that the test suite's real servers need, only those missing.
# Usage: scripts/system-deps.sh [--test]
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ "${1:-}" = "--test" ]; then
  [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ] || need+=(postgresql)
  have_cmd rabbitmq-server || need+=(rabbitmq-server)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  have_cmd prosody || need+=(prosody)
  have_cmd carbon-cache || need+=(graphite-carbon)
fi
have_cmd node || need+=(nodejs)
have_cmd npm || need+=(npm)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "missing system packages: ${need[*]} (run as root or install them with apt-get)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
