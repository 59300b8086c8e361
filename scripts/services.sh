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

start_rabbitmq() {
  local port dist dir
  port=$(free_port)
  dist=$(free_port)
  dir="$base/rabbit"
  mkdir -p "$dir/mnesia" "$dir/log"
  [ "$(id -u)" = "0" ] && chown -R rabbitmq: "$dir"
  (
    export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" \
      RABBITMQ_NODENAME="vumitest$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist" \
      RABBITMQ_PID_FILE="$dir/rabbit.pid" ERL_EPMD_ADDRESS=127.0.0.1 \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-rabbit disk_free_limit 50000000"
    rabbitmq-server -detached >"$base/rabbit-start.log" 2>&1
  )
  # Readiness: the AMQP port accepts connections (rabbitmqctl calls cost ~1 s each).
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port" >"$base/rabbit.port"
      echo "export VUMIGO_TEST_AMQP_URL=amqp://guest:guest@127.0.0.1:$port/"
      return 0
    fi
    sleep 0.1
  done
  echo "rabbitmq did not start; see $dir/log" >&2
  return 1
}

stop_rabbitmq() {
  local pid
  [ -f "$base/rabbit/rabbit.pid" ] || return 0
  pid=$(cat "$base/rabbit/rabbit.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

case "$cmd" in
  start)
    mkdir -p "$base"
    chmod 755 "$base"
    start_postgres
    if command -v rabbitmq-server >/dev/null 2>&1; then
      start_rabbitmq
    fi
    ;;
  stop)
    stop_rabbitmq
    stop_postgres
    rm -rf "$base"
    ;;
  *)
    echo "usage: services.sh start|stop DIR" >&2
    exit 2
    ;;
esac
