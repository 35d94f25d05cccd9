#!/usr/bin/env bash
# Starts a PostgreSQL 15 cluster of our own for the tests (no systemd here), unless it answers
# already: data in /var/lib/edgepilot-postgres, a unix socket in /run/edgepilot-postgres and
# 127.0.0.1:${EDGEPILOT_PG_PORT:-55432}, a role `edgepilot` (password `edgepilot`) that may create
# databases (each PostgreSQL test makes its own). Prints the URL tests take from
# EDGEPILOT_TEST_POSTGRES. Idempotent, like start-dockerd.sh.
set -euo pipefail
PORT=${EDGEPILOT_PG_PORT:-55432}
DATA=${EDGEPILOT_PG_DATA:-/var/lib/edgepilot-postgres}
RUN=${EDGEPILOT_PG_RUN:-/run/edgepilot-postgres}
LOG=${EDGEPILOT_PG_LOG:-/var/log/edgepilot-postgres.log}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$BIN" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
URL="postgres://edgepilot:edgepilot@127.0.0.1:$PORT/edgepilot"
# The server refuses to run as root: everything below runs as Debian's `postgres` user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$RUN"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$RUN"
if ! as_pg "$BIN/pg_isready" -q -h "$RUN" -p "$PORT"; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DATA"
    as_pg "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  touch "$LOG"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$LOG"
  # Many short-lived test databases and hubs: more connections than the default 100; fsync stays on
  # (the store's durability is part of what the tests check).
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start \
    -o "-p $PORT -k $RUN -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=32MB" >/dev/null \
    || { echo "PostgreSQL did not start; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
fi
as_pg "$BIN/psql" -q -h "$RUN" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE edgepilot LOGIN CREATEDB PASSWORD ''edgepilot'''
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'edgepilot')\gexec
SELECT 'CREATE DATABASE edgepilot OWNER edgepilot'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'edgepilot')\gexec
-- A test drops its database WITH (FORCE). An autovacuum worker busy in it at that moment runs as no
-- role the test's role may signal, so the drop failed ("must be a member of the role whose process
-- is being terminated or member of pg_signal_backend"), about once in a CI run.
SELECT 'GRANT pg_signal_backend TO edgepilot'
  WHERE NOT pg_has_role('edgepilot', 'pg_signal_backend', 'MEMBER')\gexec
SQL
echo "$URL"
