#!/usr/bin/env bash
# Stops the services that scripts/services/*.sh started (only pids recorded in their pid files
# under $WATTFLOW_SERVICES_DIR; a Redis or anything else that was already running is left alone).
# Data under the state dir is kept; delete $WATTFLOW_SERVICES_DIR to reset it.
#
# Optional arguments pick a subset: stop-all.sh kafka s3proxy
set -euo pipefail
SERVICE=stop-all
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_SERVICES=(kafka s3proxy prometheus influxdb node-exporter redis)
if (($# > 0)); then SELECTED=("$@"); else SELECTED=("${ALL_SERVICES[@]}"); fi
pids=()
for s in "${SELECTED[@]}"; do
  [[ -f "$SERVICES_SCRIPT_DIR/$s.sh" ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
  bash "$SERVICES_SCRIPT_DIR/$s.sh" stop </dev/null >/dev/null &
  pids+=($!)
done
rc=0
# exit 3: the service had nothing to stop (kafka.sh), not a failure here
for p in "${pids[@]}"; do wait "$p" || { c=$?; ((c == 3)) || rc=1; }; done
exit $rc
