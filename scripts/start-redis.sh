#!/usr/bin/env bash
# Starts Debian's redis-server by hand (no systemd here) for several hubs on one machine (issue 15),
# unless one answers already: loopback only, its own port and folder, nothing saved to disk.
# Tests start their own private Redis (test/support/redis.ts); this one is for trying several hubs.
set -euo pipefail
PORT="${EDGEPILOT_REDIS_PORT:-6380}"
DIR=/run/edgepilot-redis
if ! redis-cli -p "$PORT" ping >/dev/null 2>&1; then
  mkdir -p "$DIR"
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$DIR" --save '' --appendonly no \
    --daemonize yes --pidfile "$DIR/redis.pid" --logfile /var/log/edgepilot-redis.log
  for _ in $(seq 1 50); do
    redis-cli -p "$PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$PORT" ping >/dev/null 2>&1 || { echo "redis-server did not start; see /var/log/edgepilot-redis.log" >&2; tail -20 /var/log/edgepilot-redis.log >&2; exit 1; }
fi
echo "redis ready on redis://127.0.0.1:$PORT"
