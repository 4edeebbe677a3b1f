#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests: initdb into a temporary directory, listening on
# localhost only (its unix socket in that directory), run as a non-root user.
#
#   tests/pg_cluster.sh run CMD [ARGS...]   start, export BRANDVOICE_TEST_PG_URL, run CMD, stop
#   tests/pg_cluster.sh start DIR           start in DIR (empty or missing); prints the URL
#   tests/pg_cluster.sh stop DIR            stop the server of DIR and delete DIR
#
# `run` never fails because of PostgreSQL: if the server cannot start it warns and runs CMD anyway
# (the PostgreSQL variants of the tests are then skipped). Settings: PG_PORT (first port tried,
# 54329), PG_USER (the system user that runs the server when started as root; postgres), PG_BIN
# (the server's bin directory; the newest /usr/lib/postgresql/*/bin by default).
set -euo pipefail

pg_bin() {
  local dir
  [ -n "${PG_BIN:-}" ] && { echo "$PG_BIN"; return; }
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return; }
  done
  command -v initdb >/dev/null && dirname "$(command -v initdb)" && return
  return 1
}

as_owner() {  # run a command as the server's owner
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

free_port() {
  local port
  for port in $(seq "${PG_PORT:-54329}" $(( ${PG_PORT:-54329} + 20 ))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  return 1
}

start() {
  local dir=$1 bin port
  bin=$(pg_bin) || { echo "no PostgreSQL found (apt-get install postgresql)" >&2; return 1; }
  port=$(free_port) || { echo "no free port from ${PG_PORT:-54329}" >&2; return 1; }
  PG_USER=${PG_USER:-postgres}
  if [ "$(id -u)" = 0 ] && ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown "$PG_USER" "$dir"
  echo "$port" > "$dir/port"
  as_owner "$bin/initdb" -D "$dir/data" -U bv_admin --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { echo "initdb failed:" >&2; tail -n 5 "$dir/initdb.log" >&2; return 1; }
  # A test server: durability is not wanted, speed is (fsync off makes CREATE DATABASE cheap);
  # no autovacuum (short-lived databases, and nothing of another role in the tests' databases).
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
    "-p $port -k $dir -c listen_addresses=localhost -c fsync=off -c synchronous_commit=off \
     -c full_page_writes=off -c max_connections=200 -c autovacuum=off" >/dev/null \
    || { echo "pg_ctl start failed:" >&2; tail -n 5 "$dir/server.log" >&2; return 1; }
  as_owner "$bin/psql" -h "$dir" -p "$port" -U bv_admin -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE brandvoice LOGIN CREATEDB PASSWORD 'brandvoice'" \
    -c "CREATE DATABASE brandvoice OWNER brandvoice" >/dev/null \
    || { echo "could not create the brandvoice role and database" >&2; return 1; }
  echo "postgresql+psycopg://brandvoice:brandvoice@localhost:$port/brandvoice"
}

stop() {
  local dir=$1 bin
  [ -d "$dir/data" ] && bin=$(pg_bin) && PG_USER=${PG_USER:-postgres} \
    && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

run() {
  local url
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/brandvoice-pg.XXXXXX")
  trap 'stop "$PG_DIR"' EXIT
  if url=$(start "$PG_DIR"); then
    export BRANDVOICE_TEST_PG_URL=$url
    echo "PostgreSQL: the store tests also run on ${url/:brandvoice@/:***@} (throwaway server in $PG_DIR)"
  else
    echo "warning: could not start a PostgreSQL server; the PostgreSQL store tests will be skipped"
  fi
  "$@"
}

case "${1:-}" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  run) shift; run "$@" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;  # the usage: this file's header
esac
