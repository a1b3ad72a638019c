# shellcheck shell=bash
# Shared helpers for scripts/services/*.sh. Sourced, never run.
#
# Conventions:
#   - stdout is reserved for `export VAR=value` lines (so callers can eval a script's output);
#     every log line goes to stderr, prefixed with the service name.
#   - downloads live in $WATTFLOW_CACHE, everything a running service writes (config, data,
#     logs, pid files) in $WATTFLOW_SERVICES_DIR/<service>/. Neither is inside the repo.
#   - a service is "ours" when its pid file exists and names a live process that matches;
#     stop only ever signals such pids.

WATTFLOW_CACHE="${WATTFLOW_CACHE:-$HOME/.cache/wattflow}"
WATTFLOW_SERVICES_DIR="${WATTFLOW_SERVICES_DIR:-$HOME/.local/state/wattflow-services}"
export WATTFLOW_CACHE WATTFLOW_SERVICES_DIR
SERVICES_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Maven's local repositories (plugins + artifacts) are part of the download cache too: one per
# service (m2/<service>), so the Kafka and S3Proxy downloads can run in parallel safely.
WATTFLOW_MAVEN_REPO="${WATTFLOW_MAVEN_REPO:-$WATTFLOW_CACHE/m2}"

SERVICE="${SERVICE:-services}"

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$SERVICE" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# svc_dir NAME -> state directory of a service (created)
svc_dir() { mkdir -p "$WATTFLOW_SERVICES_DIR/$1" && printf '%s' "$WATTFLOW_SERVICES_DIR/$1"; }
pid_file() { printf '%s/%s/%s.pid' "$WATTFLOW_SERVICES_DIR" "$1" "$1"; }
log_file() { printf '%s/%s/%s.log' "$WATTFLOW_SERVICES_DIR" "$1" "$1"; }

# tail_log FILE [LINES]: the end of a log, to stderr, indented.
tail_log() {
  local f="$1" n="${2:-40}"
  if [[ -s "$f" ]]; then
    # only this run's part of the log (start_daemon writes a ===== marker line per start)
    local from
    from="$(grep -n '^===== ' "$f" | tail -n1 | cut -d: -f1)"
    log "last lines of $f (this start):"
    tail -n +"${from:-1}" "$f" | tail -n "$n" | sed "s/^/    [$SERVICE] | /" >&2
  else
    log "(log $f is empty or missing)"
  fi
}

# rotate_log FILE: keeps one previous log once FILE passes 20 MB
rotate_log() {
  local f="$1"
  if [[ -f "$f" ]] && (($(stat -c %s "$f") > 20 * 1024 * 1024)); then mv -f "$f" "$f.1"; fi
}

# owned_pid NAME PATTERN -> prints the pid from NAME's pid file if that process is alive and its
# command line matches PATTERN (an extended regex); returns 1 otherwise.
owned_pid() {
  local name="$1" pattern="$2" f pid cmd
  f="$(pid_file "$name")"
  [[ -r "$f" ]] || return 1
  pid="$(tr -dc '0-9' <"$f")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  [[ "$cmd" =~ $pattern ]] || return 1
  printf '%s' "$pid"
}

# Shell snippet closing every inherited fd above 2: a daemon must not keep our lock (fd 8) nor a
# caller's pipe open (a CI runner waiting for EOF on its output would hang).
CLOSE_FDS='for f in /proc/$$/fd/*; do n=${f##*/}; if [[ $n -gt 2 ]]; then eval "exec $n>&-" 2>/dev/null; fi; done'

# exec_closed CMD [ARGS...]: runs CMD with only stdin/stdout/stderr open
exec_closed() { bash -c "$CLOSE_FDS"'; exec "$@"' exec_closed "$@"; }

# start_daemon NAME CMD [ARGS...]: runs CMD detached (own session, no stdin), stdout+stderr
# appended to NAME's log, its real pid in NAME's pid file.
start_daemon() {
  local name="$1"; shift
  local dir log pidf
  dir="$(svc_dir "$name")"; log="$(log_file "$name")"; pidf="$(pid_file "$name")"
  rm -f "$pidf"
  rotate_log "$log"
  printf '\n===== %s starting: %s\n' "$(date '+%F %T')" "$*" >>"$log"
  # The inner shell writes its own pid and then execs the daemon, so the pid file names the
  # daemon itself whether or not setsid had to fork.
  (cd "$dir" && exec setsid bash -c 'echo $$ >"$0"; '"$CLOSE_FDS"'; exec "$@"' "$pidf" "$@" >>"$log" 2>&1 </dev/null &)
  local i
  for ((i = 0; i < 50; i++)); do [[ -s "$pidf" ]] && return 0; sleep 0.1; done
  die "$name did not write its pid file $pidf"
}

# wait_healthy NAME TIMEOUT_S PID LOGFILE CHECK_CMD [ARGS...]: polls CHECK_CMD until it succeeds.
# Fails fast if PID dies; on failure prints the log tail and exits. A service still writing its
# log when TIMEOUT_S passes is busy starting (a broker loading thousands of partitions), not hung:
# the wait goes on while the log keeps growing, up to WAIT_HEALTHY_MAX_S (default 600 s).
wait_healthy() {
  local name="$1" timeout="$2" pid="$3" logf="$4"; shift 4
  local start=$SECONDS max="${WAIT_HEALTHY_MAX_S:-600}" size last_size=-1 last_growth=$SECONDS noted=0
  while :; do
    if "$@" 2>/dev/null; then
      log "healthy after $((SECONDS - start))s"
      return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      log "ERROR: $name (pid $pid) exited during startup"
      tail_log "$logf"
      exit 1
    fi
    size="$(stat -c %s "$logf" 2>/dev/null || echo 0)"
    if [[ "$size" != "$last_size" ]]; then last_size="$size"; last_growth=$SECONDS; fi
    if ((SECONDS - start >= timeout)); then
      # past the base timeout: keep going only while the log moved in the last 15 s
      if ((SECONDS - last_growth > 15 || SECONDS - start >= max)); then break; fi
      if ((!noted)); then log "not healthy after ${timeout}s but still writing its log: waiting (up to ${max}s)"; noted=1; fi
    fi
    sleep 0.5
  done
  log "ERROR: $name not healthy after $((SECONDS - start))s (check: $*)"
  tail_log "$logf"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    # a clean stop (no SIGKILL while it still responds) so the next start need not recover logs
    log "stopping the unhealthy $name (pid $pid) so the next run starts clean"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  exit 1
}

# stop_owned NAME PATTERN [TIMEOUT_S]: SIGTERM our pid, wait, SIGKILL if needed.
stop_owned() {
  local name="$1" pattern="$2" timeout="${3:-30}" pid i
  if ! pid="$(owned_pid "$name" "$pattern")"; then
    rm -f "$(pid_file "$name")"
    log "not running from these scripts (nothing to stop)"
    return 0
  fi
  log "stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${timeout}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(pid_file "$name")"
  log "stopped"
}

# http_code URL [CURL ARGS...] -> prints the HTTP status (000 when nothing answers)
http_code() {
  local url="$1"; shift
  curl -s -o /dev/null -w '%{http_code}' --connect-timeout 1 --max-time 3 "$@" "$url" 2>/dev/null || true
}
http_is() { [[ "$(http_code "$2" "${@:3}")" == "$1" ]]; }

# port_listening PORT [HOST]: something accepts TCP connections there
port_listening() {
  local port="$1" host="${2:-127.0.0.1}"
  timeout 1 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# port_owner PORT -> a short description of the listening process (best effort)
port_owner() {
  ss -ltnpH "sport = :$1" 2>/dev/null | sed -E 's/.*users:\(\((.*)\)\).*/\1/' | head -n1
}

# require_free_port PORT: dies when something unhealthy already holds PORT
require_free_port() {
  if port_listening "$1"; then
    die "port 127.0.0.1:$1 is already in use by [$(port_owner "$1")] but it did not pass the health check; stop it or free the port"
  fi
}

# apt_install PKG...: installs the Debian packages not yet installed; never prompts; waits for
# the dpkg lock instead of failing. Runs `apt-get update` once if the first try fails.
apt_missing() {
  local p out=()
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || out+=("$p")
  done
  printf '%s\n' "${out[@]}"
}
apt_install() {
  local missing
  mapfile -t missing < <(apt_missing "$@")
  [[ ${#missing[@]} -gt 0 && -n "${missing[0]}" ]] || return 0
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
    apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  log "installing Debian packages: ${missing[*]}"
  # A lock on our side too, so parallel service scripts don't race each other.
  mkdir -p "$WATTFLOW_CACHE"
  (
    flock -w 900 9 || die "timed out waiting for $WATTFLOW_CACHE/.apt.lock"
    mapfile -t missing < <(apt_missing "${missing[@]}")
    [[ ${#missing[@]} -gt 0 && -n "${missing[0]}" ]] || exit 0
    if ! "${apt[@]}" install "${missing[@]}" </dev/null >&2; then
      log "install failed; running apt-get update and retrying"
      "${apt[@]}" update </dev/null >&2 || true
      "${apt[@]}" install "${missing[@]}" </dev/null >&2 || die "apt-get install ${missing[*]} failed"
    fi
  ) 9>"$WATTFLOW_CACHE/.apt.lock" || exit 1
}

# need_java: java + mvn on PATH (installs Debian's if missing)
need_java() {
  local pkgs=()
  command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  ((${#pkgs[@]} == 0)) || apt_install "${pkgs[@]}"
}

# mvn_run ARGS...: batch-mode Maven on this service's cache repository, serialised by a lock.
mvn_run() {
  need_java
  local repo="$WATTFLOW_MAVEN_REPO/$SERVICE"
  mkdir -p "$repo"
  (
    flock -w 900 9 || die "timed out waiting for the Maven cache lock $repo.lock"
    set -o pipefail
    # (-q still prints bare colour-reset codes: strip them; tag the rest with the service)
    mvn -B -q -ntp -Dstyle.color=never -Dmaven.repo.local="$repo" "$@" </dev/null 2>&1 |
      sed -u "s/\x1b\[[0-9;]*m//g; /^\$/d; s/^/    [$SERVICE mvn] /" >&2
  ) 9>"$repo.lock"
}

# emit VAR=value ...: the only thing these scripts print on stdout
emit() {
  local kv
  for kv in "$@"; do printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"; done
}

# A common entry point: each service script defines svc_ensure, svc_stop, svc_status, svc_env
# and ends with `svc_main "$@"`.
svc_main() {
  local cmd="${1:-start}"
  # One caller at a time per service (two start-alls at once would otherwise race to start the
  # same daemon); the second one waits and then finds it healthy.
  case "$cmd" in
    start | ensure | stop | restart)
      mkdir -p "$WATTFLOW_SERVICES_DIR"
      exec 8>"$WATTFLOW_SERVICES_DIR/.$SERVICE.lock"
      if ! flock -n 8; then
        log "another caller is starting/stopping $SERVICE: waiting for it"
        flock -w 600 8 || die "timed out waiting for $WATTFLOW_SERVICES_DIR/.$SERVICE.lock"
      fi
      ;;
  esac
  case "$cmd" in
    start | ensure)
      svc_ensure
      svc_env
      ;;
    stop) svc_stop ;;
    status)
      if svc_healthy; then log "healthy"; svc_env; else log "not healthy"; return 1; fi
      ;;
    restart)
      svc_stop
      svc_ensure
      svc_env
      ;;
    env) svc_env ;;
    *)
      echo "usage: $0 [start|stop|restart|status|env]" >&2
      return 2
      ;;
  esac
}
