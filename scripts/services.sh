#!/usr/bin/env bash
# Starts and stops the real servers the test suite uses, on free loopback ports, in a private
# scratch folder. `start` prints `export` lines for the environment; `stop` ends them all.
#   eval "$(scripts/services.sh start DIR)"   ...   scripts/services.sh stop DIR
set -euo pipefail

cmd=${1:?usage: services.sh start|stop DIR}
base=${2:?usage: services.sh start|stop DIR}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
as_postgres() {
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

start_postgres() {
  local bin port dir
  bin=$(pg_bin)
  port=$(free_port)
  dir="$base/pg"
  mkdir -p "$dir"
  [ "$(id -u)" = "0" ] && chown postgres: "$dir"
  as_postgres "$bin/initdb -D $dir/data -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8" >"$base/pg-initdb.log" 2>&1
  as_postgres "$bin/pg_ctl -D $dir/data -l $dir/pg.log -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300' -w start" >"$base/pg-start.log" 2>&1
  echo "$port" >"$base/pg.port"
  echo "export VUMIGO_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {
  local bin
  bin=$(pg_bin)
  if [ -f "$base/pg/data/postmaster.pid" ]; then
    as_postgres "$bin/pg_ctl -D $base/pg/data -m immediate -w stop" >/dev/null 2>&1 || true
  fi
}

case "$cmd" in
  start)
    mkdir -p "$base"
    chmod 755 "$base"
    start_postgres
    ;;
  stop)
    stop_postgres
    rm -rf "$base"
    ;;
  *)
    echo "usage: services.sh start|stop DIR" >&2
    exit 2
    ;;
esac
