#!/usr/bin/env bash
# Prometheus node exporter (Debian's prometheus-node-exporter) on 127.0.0.1:9100.
# Healthy when /metrics serves node_network_receive_bytes_total of lo (reported: see below).
#
#   bash scripts/services/node-exporter.sh [start|stop|restart|status|env]
set -euo pipefail
SERVICE=node-exporter
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE_EXPORTER_PORT="${NODE_EXPORTER_PORT:-9100}"
PID_PATTERN='node.exporter .*--web\.listen-address=127\.0\.0\.1:'
DIR="$WATTFLOW_SERVICES_DIR/node-exporter"
LOG="$(log_file node-exporter)"

node_exporter_bin() {
  command -v prometheus-node-exporter 2>/dev/null || command -v node_exporter 2>/dev/null
}

metrics_ok() {
  curl -sf --connect-timeout 1 --max-time 5 "http://127.0.0.1:$NODE_EXPORTER_PORT/metrics" 2>/dev/null |
    grep -c '^node_network_receive_bytes_total{device="lo"}' >/dev/null # (not -q: curl must not get SIGPIPE under pipefail)
}
svc_healthy() { metrics_ok; }

svc_ensure() {
  if metrics_ok; then
    if owned_pid node-exporter "$PID_PATTERN" >/dev/null; then log "already running and healthy on 127.0.0.1:$NODE_EXPORTER_PORT"
    else log "a node exporter already serves 127.0.0.1:$NODE_EXPORTER_PORT/metrics (not started by these scripts): using it"; fi
    return 0
  fi
  local pid bin
  if pid="$(owned_pid node-exporter "$PID_PATTERN")"; then
    log "pid $pid is ours but /metrics is not healthy: restarting it"
    svc_stop
  fi
  require_free_port "$NODE_EXPORTER_PORT"
  node_exporter_bin >/dev/null || apt_install prometheus-node-exporter
  bin="$(node_exporter_bin)" || die "prometheus-node-exporter not found after install"
  mkdir -p "$DIR/textfile"
  log "starting $bin on 127.0.0.1:$NODE_EXPORTER_PORT"
  # --collector.netdev.device-exclude=^$: report lo too (the default excludes ^lo$); the
  # integration tests compare lo's counters with /proc/net/dev
  start_daemon node-exporter "$bin" --web.listen-address="127.0.0.1:$NODE_EXPORTER_PORT" \
    --collector.textfile.directory="$DIR/textfile" '--collector.netdev.device-exclude=^$'
  pid="$(tr -dc '0-9' <"$(pid_file node-exporter)")"
  wait_healthy node-exporter 30 "$pid" "$LOG" metrics_ok
}

svc_stop() { stop_owned node-exporter "$PID_PATTERN" 15; }
svc_env() { emit "NODE_EXPORTER_URL=http://127.0.0.1:$NODE_EXPORTER_PORT"; }

svc_main "$@"
