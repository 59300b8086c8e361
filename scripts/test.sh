#!/usr/bin/env bash
# Runs the whole suite with its real servers: starts them on private ports, runs pytest, stops them.
set -uo pipefail
cd "$(dirname "$0")/.."

base=$(mktemp -d /tmp/vumigo-services.XXXXXX)
cleanup() { scripts/services.sh stop "$base"; }
trap cleanup EXIT INT TERM

if ! env_lines=$(scripts/services.sh start "$base"); then
  echo "could not start the test servers; logs in $base" >&2
  cat "$base"/*.log >&2 2>/dev/null
  exit 1
fi
eval "$env_lines"

.venv/bin/python -m pytest "$@"
