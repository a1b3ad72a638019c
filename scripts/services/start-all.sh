#!/usr/bin/env bash
# Installs (if missing), starts (if down) and health-checks every backing service used by the
# integration tests, then prints ONLY `export VAR=value` lines on stdout:
#
#   eval "$(bash scripts/services/start-all.sh)"
#
# Everything else (progress, errors, log tails) goes to stderr, each line tagged with its
# service. Debian packages are installed first in one apt-get run; then the services start in
# parallel. Exits non-zero (and prints no exports) if any service fails.
#
# Optional arguments pick a subset: start-all.sh kafka redis
set -euo pipefail
SERVICE=start-all
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ALL_SERVICES=(redis node-exporter influxdb prometheus s3proxy kafka helm)
if (($# > 0)); then SELECTED=("$@"); else SELECTED=("${ALL_SERVICES[@]}"); fi
for s in "${SELECTED[@]}"; do
  [[ -f "$SERVICES_SCRIPT_DIR/$s.sh" ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
done
started_at=$SECONDS

# Phase 1: the Debian packages that are missing, in a single apt-get (parallel apt runs would
# only queue on the dpkg lock).
pkgs=()
for s in "${SELECTED[@]}"; do
  case "$s" in
    redis) command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server) ;;
    node-exporter) command -v prometheus-node-exporter >/dev/null 2>&1 || pkgs+=(prometheus-node-exporter) ;;
    influxdb) command -v influxd >/dev/null 2>&1 || pkgs+=(influxdb) ;;
    prometheus) command -v prometheus >/dev/null 2>&1 || pkgs+=(prometheus) ;;
    s3proxy | kafka | helm)
      command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
      command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
      ;;
  esac
done
# Debian's Chromium for the web UI's browser tests, in the same apt-get run (WATTFLOW_NO_CHROMIUM=1 skips it)
if [[ -z "${WATTFLOW_NO_CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then pkgs+=(chromium); fi
# The tests' independent clients (not services; idempotent: only what is missing): Python gRPC
# for the KServe V2 gRPC client (test/router-power/v2-grpc.test.ts), a JDK (the source launcher needs
# jdk.compiler) and Maven for MLflow's Java client (test/registry/mlflow-java-client.test.ts).
if ((${#SELECTED[@]} == ${#ALL_SERVICES[@]})); then
  /usr/bin/python3 -c 'import grpc, grpc_tools.protoc' >/dev/null 2>&1 || pkgs+=(python3-grpcio python3-grpc-tools)
  java --list-modules 2>/dev/null | grep -q '^jdk.compiler' || pkgs+=(openjdk-17-jdk-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
fi
if ((${#pkgs[@]} > 0)); then
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  apt_install "${pkgs[@]}"
fi

# Phase 2: every service script in parallel; each prints its exports on stdout.
out="$(mktemp -d "${TMPDIR:-/tmp}/wattflow-start-all.XXXXXX")"
trap 'rm -rf "$out"' EXIT
declare -A pids=()
for s in "${SELECTED[@]}"; do
  bash "$SERVICES_SCRIPT_DIR/$s.sh" start >"$out/$s.env" </dev/null &
  pids[$s]=$!
done
# MLflow's Java client into ~/.m2 meanwhile (what the test resolves; a failure here is only a warning, the test says more)
clients_pid=
if ((${#SELECTED[@]} == ${#ALL_SERVICES[@]})) && command -v mvn >/dev/null 2>&1; then
  mvn -B -q -f "$SERVICES_SCRIPT_DIR/../../test/registry/mlflow/pom.xml" dependency:resolve >"$out/mlflow-client.log" 2>&1 </dev/null &
  clients_pid=$!
fi
failed=()
for s in "${SELECTED[@]}"; do
  wait "${pids[$s]}" || failed+=("$s")
done
if [[ -n "$clients_pid" ]] && ! wait "$clients_pid"; then
  log "warning: could not resolve org.mlflow:mlflow-client into ~/.m2 (test/registry/mlflow/pom.xml): $(tail -3 "$out/mlflow-client.log" | tr '\n' ' ')"
fi
if ((${#failed[@]} > 0)); then
  die "failed to start: ${failed[*]} (logs under $WATTFLOW_SERVICES_DIR/<service>/)"
fi
for s in "${SELECTED[@]}"; do cat "$out/$s.env"; done
[[ -n "${WATTFLOW_NO_CHROMIUM:-}" ]] || bash "$SERVICES_SCRIPT_DIR/chromium.sh"
log "all healthy (${SELECTED[*]}) in $((SECONDS - started_at))s"
