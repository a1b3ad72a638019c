#!/usr/bin/env bash
# Redis on 127.0.0.1:6379 (Debian's redis-server). On machines of this project's kind Redis is
# usually running already (started before the session): then this only checks PING and leaves
# it alone. Otherwise it starts it with the machine's usual command (in-memory, no persistence)
# plus a pid file under the state dir, so stop-all.sh stops only a Redis it started itself.
#
#   bash scripts/services/redis.sh [start|stop|restart|status|env]
set -euo pipefail
SERVICE=redis
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${REDIS_PORT:-6379}"
PID_PATTERN='redis-server'
REDIS_LOG=/var/log/redis/ci.log

redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else
    local out
    out="$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$REDIS_PORT"' || exit 1
      printf "PING\r\n" >&3; head -c 7 <&3' 2>/dev/null)" || return 1
    [[ "$out" == "+PONG"* ]]
  fi
}
svc_healthy() { redis_ping; }

svc_ensure() {
  if redis_ping; then
    if owned_pid redis "$PID_PATTERN" >/dev/null; then log "already running (started by these scripts) and answers PING"
    else log "already running on 127.0.0.1:$REDIS_PORT and answers PING (not ours: left alone)"; fi
    return 0
  fi
  require_free_port "$REDIS_PORT"
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  local dir pidf
  dir="$(svc_dir redis)"; pidf="$(pid_file redis)"
  mkdir -p /var/lib/redis /var/log/redis
  rm -f "$pidf"
  log "starting redis-server on 127.0.0.1:$REDIS_PORT"
  # The machine's standard Redis command line, plus our pid file.
  exec_closed redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile "$REDIS_LOG" --pidfile "$pidf" </dev/null >&2 ||
    { tail_log "$REDIS_LOG"; die "redis-server failed to start"; }
  local i pid=""
  for ((i = 0; i < 50; i++)); do [[ -s "$pidf" ]] && { pid="$(tr -dc '0-9' <"$pidf")"; break; }; sleep 0.1; done
  wait_healthy redis 30 "$pid" "$REDIS_LOG" redis_ping
}

svc_stop() { stop_owned redis "$PID_PATTERN" 15; }
svc_env() { emit "REDIS_URL=redis://127.0.0.1:$REDIS_PORT"; }

svc_main "$@"
