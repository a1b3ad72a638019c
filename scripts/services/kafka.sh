#!/usr/bin/env bash
# Apache Kafka 3.9.x, single node in KRaft mode (combined broker + controller), from Maven
# Central artifacts (no tarball). Client listener 127.0.0.1:9092, controller 127.0.0.1:9093, and
# an authenticated listener SASL_SSL 127.0.0.1:9094 (TLS with a CA generated into the state dir,
# SCRAM-SHA-512 and SCRAM-SHA-256 for the user `wattflow` with a generated password).
#
#   bash scripts/services/kafka.sh [start|stop|restart|status|env]
#   bash scripts/services/kafka.sh tool topics --bootstrap-server 127.0.0.1:9092 --list
#
# Env: KAFKA_VERSION (default 3.9.1, falls back to 3.9.0 if Maven Central can't serve it),
#      KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (-Xms512m -Xmx2g: thousands of per-router topics need more than 512 MB),
#      KAFKA_GC (G1, 5 ms pause goal), KAFKA_NETWORK_THREADS (2), KAFKA_IO_THREADS (4),
#      KAFKA_FRESH_DATA=1: when this script has to start a broker, it first empties the broker's
#      data directory (every topic and offset of this test broker is scratch). `.ci/run` sets it:
#      a broker restarted on thousands of leftover benchmark topics spends minutes loading them.
#      KAFKA_SCRAM_PORT: the SASL_SSL listener (9094; `off` for none; when KAFKA_PORT is changed
#      and this is not set, none, so a second broker never collides with the first one's port),
#      KAFKA_SCRAM_USER (wattflow). Password, CA and broker certificate are generated once into
#      the state dir (scram/, tls/). KAFKA_RESTART_OUTDATED=1: a broker these scripts started
#      without that listener (an older config) is restarted to get it (`.ci/run` sets it);
#      otherwise it is left running and the SCRAM variables are not exported.
set -euo pipefail
SERVICE=kafka
KAFKA_COMMAND="${1:-start}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_FALLBACK_VERSION=3.9.0
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
if [[ -z "${KAFKA_SCRAM_PORT:-}" ]]; then
  if [[ "$KAFKA_PORT" == 9092 ]]; then KAFKA_SCRAM_PORT=9094; else KAFKA_SCRAM_PORT=off; fi
fi
KAFKA_SCRAM_USER="${KAFKA_SCRAM_USER:-wattflow}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms512m -Xmx2g}"
# G1 with a 5 ms pause goal: with 20 ms its young collections paused the broker 15-19 ms every
# ~2 s under the 1000-router benchmark, which was the pipeline's p99 (20-24 ms); 5 ms gave p50
# 2 ms, p99 13-25 ms. ZGC measured no better on 2 cores (its concurrent threads compete with the
# pipeline). KAFKA_GC overrides.
KAFKA_GC="${KAFKA_GC:--XX:+UseG1GC -XX:MaxGCPauseMillis=5 -XX:InitiatingHeapOccupancyPercent=35}"
KAFKA_POM="$SERVICES_SCRIPT_DIR/kafka/pom.xml"
PID_PATTERN='java .*kafka\.Kafka '
DIR="$WATTFLOW_SERVICES_DIR/kafka"
LOG="$(log_file kafka)"
TLS_DIR="$DIR/tls"
SCRAM_DIR="$DIR/scram"
scram_enabled() { [[ "$KAFKA_SCRAM_PORT" != off ]]; }

# Cached classpath directory for a version; keyed on the pom's content so edits re-resolve.
kafka_lib_for() {
  local v="$1" h
  h="$(sha256sum "$KAFKA_POM" | cut -c1-10)"
  printf '%s/kafka/%s-%s/lib' "$WATTFLOW_CACHE" "$v" "$h"
}

# Sets KAFKA_LIB to a complete classpath dir, resolving it from Maven Central if needed.
kafka_install() {
  local v lib
  need_java
  for v in "$KAFKA_VERSION" "$KAFKA_FALLBACK_VERSION"; do
    lib="$(kafka_lib_for "$v")"
    if [[ -f "$lib/.complete" ]]; then
      KAFKA_LIB="$lib"; KAFKA_RESOLVED_VERSION="$v"; return 0
    fi
  done
  for v in "$KAFKA_VERSION" "$KAFKA_FALLBACK_VERSION"; do
    lib="$(kafka_lib_for "$v")"
    log "resolving org.apache.kafka:kafka_2.13:$v and its runtime dependencies from Maven Central into $lib"
    rm -rf "$lib.tmp"
    if mvn_run -f "$KAFKA_POM" -Dkafka.version="$v" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$lib.tmp"; then
      rm -rf "$lib" && mv "$lib.tmp" "$lib" && touch "$lib/.complete"
      KAFKA_LIB="$lib"; KAFKA_RESOLVED_VERSION="$v"
      log "cached $(find "$lib" -name '*.jar' | wc -l) jars for Kafka $v"
      return 0
    fi
    log "could not resolve Kafka $v"
    [[ "$v" == "$KAFKA_FALLBACK_VERSION" ]] && break
  done
  die "could not resolve Apache Kafka ($KAFKA_VERSION or $KAFKA_FALLBACK_VERSION) from Maven Central"
}

# ApiVersions v0 request over bash's /dev/tcp; healthy when the broker answers with our
# correlation id and error_code 0. A KRaft broker only serves requests once it has joined the
# quorum and is unfenced (the port alone can be open earlier), so this means "ready".
kafka_probe() {
  local out
  out="$(timeout 3 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$KAFKA_PORT"' || exit 1
    printf "\x00\x00\x00\x12\x00\x12\x00\x00\x57\x46\x00\x01\x00\x08wf-probe" >&3
    head -c 10 <&3' 2>/dev/null | od -An -tx1 | tr -d ' \n')" || return 1
  [[ "$out" =~ ^[0-9a-f]{8}574600010000$ ]]
}
svc_healthy() { kafka_probe; }

# java with the cached classpath and a quiet log4j config (for the CLI tools)
kafka_java_tool() {
  timeout "${KAFKA_TOOL_TIMEOUT:-120}" java -Xmx256m -cp "$KAFKA_LIB/*" -Dlog4j.configuration="file:$DIR/tools-log4j.properties" "$@"
}

write_config() {
  mkdir -p "$DIR/data" "$DIR/logs"
  cat >"$DIR/server.properties" <<EOF
# generated by scripts/services/kafka.sh: single-node KRaft (broker + controller) for tests
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT$(scram_enabled && printf ',SASL_SSL://127.0.0.1:%s' "$KAFKA_SCRAM_PORT")
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT$(scram_enabled && printf ',SASL_SSL://127.0.0.1:%s' "$KAFKA_SCRAM_PORT")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT$(scram_enabled && printf ',SASL_SSL:SASL_SSL')
log.dirs=$DIR/data
# logs are loaded (and recovered after a crash) in parallel at start-up
num.recovery.threads.per.data.dir=${KAFKA_RECOVERY_THREADS:-2}
num.network.threads=${KAFKA_NETWORK_THREADS:-2}
num.io.threads=${KAFKA_IO_THREADS:-4}
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
log.retention.check.interval.ms=300000
EOF
  if scram_enabled; then
    cat >>"$DIR/server.properties" <<EOF
# SASL_SSL listener: TLS (PEM keystore generated by kafka.sh into tls/), SCRAM users stored in
# the cluster metadata (created at format time, or through the admin API for an older data dir)
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/broker-keystore.pem
listener.name.sasl_ssl.ssl.key.password=$(cat "$TLS_DIR/keystore.password" 2>/dev/null)
listener.name.sasl_ssl.ssl.client.auth=none
EOF
    # Kafka's CLI tools on the SASL_SSL listener: --command-config scram/client.properties
    (
      umask 077
      cat >"$SCRAM_DIR/client.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_SCRAM_USER" password="$(cat "$SCRAM_DIR/password")";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
EOF
    )
  fi
  cat >"$DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.state.change.logger=WARN
EOF
  cat >"$DIR/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

# What the SASL_SSL listener needs, generated once into the state dir (kept across restarts):
#   tls/ca.crt (+ ca.key): a self-signed test CA; clients trust ca.crt
#   tls/broker.crt (+ broker.key): EC P-256, SAN IP:127.0.0.1 and DNS:localhost, signed by the CA
#   tls/broker-keystore.pem: the broker's key (PKCS#8, encrypted with tls/keystore.password: a
#     file-based PEM keystore needs a key password) followed by its chain, ssl.keystore.type=PEM
#   scram/password: the SCRAM user's password
# The certificates are made again when the broker's expires within a day.
kafka_security_material() {
  scram_enabled || return 0
  command -v openssl >/dev/null 2>&1 || apt_install openssl
  mkdir -p "$TLS_DIR" "$SCRAM_DIR"
  chmod 700 "$TLS_DIR" "$SCRAM_DIR"
  [[ -s "$SCRAM_DIR/password" ]] || (umask 077 && openssl rand -hex 24 >"$SCRAM_DIR/password")
  [[ -s "$TLS_DIR/keystore.password" ]] || (umask 077 && openssl rand -hex 24 >"$TLS_DIR/keystore.password")
  if [[ -s "$TLS_DIR/broker-keystore.pem" && -s "$TLS_DIR/ca.crt" ]] &&
    openssl x509 -checkend 86400 -noout -in "$TLS_DIR/broker.crt" >/dev/null 2>&1; then
    return 0
  fi
  log "generating a test CA and the broker's TLS certificate in $TLS_DIR"
  (
    set -e
    umask 077
    cd "$TLS_DIR"
    rm -f ca.key ca.crt broker.key broker.csr broker.crt broker-keystore.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
      -days 3650 -subj "/CN=wattflow test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout broker.key -out broker.csr \
      -subj "/CN=localhost"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >broker.ext
    openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out broker.crt -days 825 \
      -extfile broker.ext
    # PBES1 (PBEWithSHA1AndDESede): Java 17's EncryptedPrivateKeyInfo, which Kafka's PEM keystore
    # uses, cannot read OpenSSL's default PBES2 ("PBES2 SecretKeyFactory not available"). The
    # key only protects a loopback test listener; the file itself is mode 600.
    openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in broker.key -passout file:keystore.password -out broker-key.p8
    cat broker-key.p8 broker.crt ca.crt >broker-keystore.pem
    rm -f broker.csr broker.ext broker-key.p8 ca.srl
    chmod 644 ca.crt broker.crt
  ) >>"$LOG" 2>&1 || { tail_log "$LOG"; die "could not generate the TLS material in $TLS_DIR"; }
}

# The data dir's identity (directory.id, new at every format) and the user's credentials: the
# SCRAM user is known to be in this data dir's metadata when scram/provisioned holds this line.
kafka_scram_stamp() {
  printf '%s %s\n' "$(sed -n 's/^directory.id=//p' "$DIR/data/meta.properties" 2>/dev/null)" \
    "$(printf '%s:%s' "$KAFKA_SCRAM_USER" "$(cat "$SCRAM_DIR/password")" | sha256sum | cut -c1-16)"
}

# Arguments for `kafka-storage format`: the SCRAM user goes into the new metadata log.
kafka_format_scram_args() {
  scram_enabled || return 0
  local pw
  pw="$(cat "$SCRAM_DIR/password")"
  printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$KAFKA_SCRAM_USER,password=$pw]" \
    --add-scram "SCRAM-SHA-256=[name=$KAFKA_SCRAM_USER,password=$pw]"
}

# A data dir formatted without the SCRAM user (before the listener existed, or with another
# password): add the credentials through the admin API on the PLAINTEXT listener (once).
kafka_ensure_scram_user() {
  scram_enabled || return 0
  [[ "$(cat "$SCRAM_DIR/provisioned" 2>/dev/null)" == "$(kafka_scram_stamp)" ]] && return 0
  local pw m
  pw="$(cat "$SCRAM_DIR/password")"
  [[ -n "${KAFKA_LIB:-}" ]] || kafka_install
  log "adding the SCRAM credentials of user $KAFKA_SCRAM_USER to the existing data dir (kafka-configs)"
  # one mechanism per request (KRaft refuses to alter one user's credentials twice in a request);
  # the tool echoes its arguments on failure: the password is masked in the log
  for m in SCRAM-SHA-512 SCRAM-SHA-256; do
    KAFKA_TOOL_TIMEOUT=60 kafka_java_tool kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" \
      --alter --entity-type users --entity-name "$KAFKA_SCRAM_USER" --add-config "$m=[password=$pw]" 2>&1 |
      sed "s/$pw/***/g" >>"$LOG" ||
      { tail_log "$LOG"; die "kafka-configs could not add the $m credentials of user $KAFKA_SCRAM_USER"; }
  done
  kafka_scram_stamp >"$SCRAM_DIR/provisioned"
}

# Kafka's admin client lists topics: on the SASL_SSL listener when there is one (proves TLS,
# SCRAM and metadata at once), else on PLAINTEXT. A new SCRAM credential can take a moment to
# reach the broker's cache, hence a few tries.
kafka_admin_check() {
  local i
  if ! scram_enabled; then
    KAFKA_TOOL_TIMEOUT=60 kafka_java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>>"$LOG"
    return
  fi
  for ((i = 0; i < 3; i++)); do
    KAFKA_TOOL_TIMEOUT=60 kafka_java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_SCRAM_PORT" \
      --command-config "$SCRAM_DIR/client.properties" --list >/dev/null 2>>"$LOG" && return 0
    sleep 1
  done
  return 1
}

# Is the broker's SASL_SSL listener up (a TLS server answers on its port)?
kafka_scram_listening() { scram_enabled && port_listening "$KAFKA_SCRAM_PORT"; }

svc_ensure() {
  local pid
  if svc_healthy; then
    if ! pid="$(owned_pid kafka "$PID_PATTERN")"; then
      log "a broker already answers on 127.0.0.1:$KAFKA_PORT (not started by these scripts): using it"
      return 0
    fi
    if ! scram_enabled || kafka_scram_listening; then
      log "already running and healthy on 127.0.0.1:$KAFKA_PORT"
      # (a start that failed after the broker came up may not have added the SCRAM user yet)
      kafka_ensure_scram_user
      return 0
    fi
    if [[ "${KAFKA_RESTART_OUTDATED:-}" != 1 ]]; then
      log "WARNING: running broker (pid $pid) has no SASL_SSL listener on 127.0.0.1:$KAFKA_SCRAM_PORT (started from an older config):" \
        "KAFKA_SCRAM_* not exported; 'kafka.sh restart' (or KAFKA_RESTART_OUTDATED=1) gives it the listener"
      return 0
    fi
    log "KAFKA_RESTART_OUTDATED=1: restarting pid $pid (an older config without the SASL_SSL listener)"
    svc_stop
  fi
  if pid="$(owned_pid kafka "$PID_PATTERN")"; then
    # ours but not answering: maybe still starting (another caller), else restart it
    log "pid $pid is running but not answering yet; waiting"
    if wait_healthy_quiet 60 "$pid"; then return 0; fi
    log "pid $pid never became healthy: restarting it"
    svc_stop
  fi
  require_free_port "$KAFKA_PORT"
  require_free_port "$KAFKA_CONTROLLER_PORT"
  if scram_enabled; then require_free_port "$KAFKA_SCRAM_PORT"; fi

  kafka_install
  svc_dir kafka >/dev/null
  if [[ "${KAFKA_FRESH_DATA:-}" == 1 && -d "$DIR/data" ]]; then
    log "KAFKA_FRESH_DATA=1: emptying $DIR/data ($(find "$DIR/data" -mindepth 1 -maxdepth 1 -type d | wc -l) partition directories)"
    rm -rf "$DIR/data"
  fi
  kafka_security_material
  write_config
  if [[ ! -f "$DIR/data/meta.properties" ]]; then
    local cid scram_args
    [[ -s "$DIR/cluster.id" ]] || kafka_java_tool kafka.tools.StorageTool random-uuid >"$DIR/cluster.id"
    cid="$(tr -d '[:space:]' <"$DIR/cluster.id")"
    mapfile -t scram_args < <(kafka_format_scram_args)
    log "formatting $DIR/data (cluster id $cid)$(scram_enabled && printf ' with SCRAM user %s' "$KAFKA_SCRAM_USER")"
    kafka_java_tool kafka.tools.StorageTool format -t "$cid" -c "$DIR/server.properties" --ignore-formatted "${scram_args[@]}" \
      >>"$LOG" 2>&1 || { tail_log "$LOG"; die "kafka-storage format failed"; }
    if scram_enabled; then kafka_scram_stamp >"$SCRAM_DIR/provisioned"; fi
  fi
  log "starting Kafka $KAFKA_RESOLVED_VERSION (KRaft) on 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT$(scram_enabled && printf ', SASL_SSL 127.0.0.1:%s' "$KAFKA_SCRAM_PORT")"
  # shellcheck disable=SC2086
  start_daemon kafka java $KAFKA_HEAP -server $KAFKA_GC -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$DIR/log4j.properties" -Dkafka.logs.dir="$DIR/logs" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$DIR/server.properties"
  pid="$(tr -dc '0-9' <"$(pid_file kafka)")"
  wait_healthy kafka 120 "$pid" "$LOG" kafka_probe
  kafka_ensure_scram_user
  # Confirm with Kafka's own admin client that metadata requests work for real clients.
  if ! kafka_admin_check; then
    tail_log "$LOG"
    die "broker answers ApiVersions but the admin client could not list topics$(scram_enabled && printf ' on the SASL_SSL listener 127.0.0.1:%s as %s' "$KAFKA_SCRAM_PORT" "$KAFKA_SCRAM_USER")"
  fi
  log "ready: admin client lists topics$(scram_enabled && printf ' (over SASL_SSL + SCRAM-SHA-512 on 127.0.0.1:%s)' "$KAFKA_SCRAM_PORT")"
}

# like wait_healthy (also waiting on while the log grows), but returns 1 instead of exiting
wait_healthy_quiet() {
  local timeout="$1" pid="$2" start=$SECONDS size last_size=-1 last_growth=$SECONDS
  while ((SECONDS - start < ${WAIT_HEALTHY_MAX_S:-600})); do
    kafka_probe && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    size="$(stat -c %s "$LOG" 2>/dev/null || echo 0)"
    if [[ "$size" != "$last_size" ]]; then last_size="$size"; last_growth=$SECONDS; fi
    ((SECONDS - start >= timeout && SECONDS - last_growth > 15)) && return 1
    sleep 0.5
  done
  return 1
}

# `kafka.sh stop` exits 3 when no broker of these scripts runs (nothing was stopped): a caller
# that means to cause an outage (test/e2e/broker-restart.test.ts) must learn that it did not.
# stop-all.sh accepts 3; `restart` and the stops inside `start` tolerate a broker not running.
svc_stop() {
  if [[ "$KAFKA_COMMAND" == stop ]] && ! owned_pid kafka "$PID_PATTERN" >/dev/null; then
    rm -f "$(pid_file kafka)"
    log "ERROR: no broker started by these scripts runs on 127.0.0.1:$KAFKA_PORT (pid file $(pid_file kafka)): nothing stopped"
    exit 3
  fi
  stop_owned kafka "$PID_PATTERN" 60
}
svc_env() {
  emit "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  # the authenticated listener, only when it is up (a broker from an older config has none)
  if kafka_scram_listening && [[ -s "$SCRAM_DIR/password" && -s "$TLS_DIR/ca.crt" ]]; then
    emit "KAFKA_SCRAM_BROKERS=127.0.0.1:$KAFKA_SCRAM_PORT" "KAFKA_SCRAM_MECHANISM=SCRAM-SHA-512" \
      "KAFKA_SCRAM_USERNAME=$KAFKA_SCRAM_USER" "KAFKA_SCRAM_PASSWORD=$(cat "$SCRAM_DIR/password")" \
      "KAFKA_SCRAM_PASSWORD_FILE=$SCRAM_DIR/password" "KAFKA_SCRAM_CA_FILE=$TLS_DIR/ca.crt"
  fi
}

# `kafka.sh tool NAME ARGS...` runs a Kafka CLI tool from the cached classpath, e.g.
#   kafka.sh tool topics --bootstrap-server 127.0.0.1:9092 --list
# NAME: topics, console-producer, console-consumer, broker-api-versions, consumer-groups,
# storage, or a fully qualified main class.
kafka_tool() {
  local name="${1:?usage: kafka.sh tool NAME ARGS...}" cls; shift
  case "$name" in
    topics) cls=org.apache.kafka.tools.TopicCommand ;;
    console-producer) cls=kafka.tools.ConsoleProducer ;;
    console-consumer) cls=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    broker-api-versions) cls=kafka.admin.BrokerApiVersionsCommand ;;
    consumer-groups) cls=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    storage) cls=kafka.tools.StorageTool ;;
    *) cls="$name" ;;
  esac
  kafka_install
  svc_dir kafka >/dev/null
  [[ -f "$DIR/tools-log4j.properties" ]] || write_config
  exec java -Xmx256m -cp "$KAFKA_LIB/*" -Dlog4j.configuration="file:$DIR/tools-log4j.properties" "$cls" "$@"
}

if [[ "${1:-}" == tool ]]; then shift; kafka_tool "$@"; fi
svc_main "$@"
