#!/usr/bin/env bash
# The real Helm engine for the chart tests (test/deploy/chart-*.test.ts), without a Helm
# binary or a cluster: helm-java (com.marcnuri.helm-java:helm-java + its linux-amd64 native
# library, Helm's Go code) from Maven Central. Not a server: "start" resolves the classpath
# into the cache once (about 100 MB, ~15 s on a fresh machine; nothing when cached), checks
# that the native library loads (`helm version` through scripts/helm/HelmDriver.java) and
# exports where the classpath is:
#
#   WATTFLOW_HELM_CLASSPATH_FILE   a file holding the Java classpath (one line)
#
#   bash scripts/services/helm.sh [start|stop|status|env]
#
# Env: HELM_JAVA_VERSION (default 0.0.21, which embeds Helm v3.21.0).
set -euo pipefail
SERVICE=helm
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HELM_JAVA_VERSION="${HELM_JAVA_VERSION:-0.0.21}"
HELM_POM="$SERVICES_SCRIPT_DIR/helm/pom.xml"
HELM_HOME="$WATTFLOW_CACHE/helm-java/$HELM_JAVA_VERSION"
CP_FILE="$HELM_HOME/classpath.txt"
DRIVER="$SERVICES_SCRIPT_DIR/../helm/HelmDriver.java"

classpath_complete() {
  [[ -f "$HELM_HOME/.complete" && -s "$CP_FILE" ]] || return 1
  local jar
  while IFS= read -r jar; do [[ -z "$jar" || -s "$jar" ]] || return 1; done < <(tr ':' '\n' <"$CP_FILE")
}
svc_healthy() { command -v java >/dev/null 2>&1 && classpath_complete; }

# The single-file source launcher compiles the driver: it needs the JDK's compiler module, which
# a JRE-only machine (openjdk-17-jre-headless) lacks.
need_jdk() {
  need_java
  java --list-modules 2>/dev/null | grep -q '^jdk.compiler@' || apt_install openjdk-17-jdk-headless
}

svc_ensure() {
  need_jdk
  if classpath_complete; then
    log "helm-java $HELM_JAVA_VERSION cached ($(cat "$HELM_HOME/helm-version" 2>/dev/null || echo '?'))"
    return 0
  fi
  log "resolving com.marcnuri.helm-java:helm-java:$HELM_JAVA_VERSION from Maven Central into $WATTFLOW_MAVEN_REPO/helm"
  mkdir -p "$HELM_HOME"
  rm -f "$HELM_HOME/.complete"
  mvn_run -f "$HELM_POM" -Dhelm-java.version="$HELM_JAVA_VERSION" dependency:build-classpath \
    -Dmdep.outputFile="$CP_FILE.tmp" || die "could not resolve helm-java $HELM_JAVA_VERSION from Maven Central"
  [[ -s "$CP_FILE.tmp" ]] || die "empty classpath after resolving helm-java"
  mv -f "$CP_FILE.tmp" "$CP_FILE"
  # the native library must load here (a classpath without it resolves, then fails at run time)
  local answer version
  answer="$(printf '1\tversion\n' | java -cp "$(cat "$CP_FILE")" "$DRIVER" 2>&1)" || die "helm-java does not run: $answer"
  version="$(sed -n 2p <<<"$answer")"
  [[ "$version" == v3.* ]] || die "unexpected answer from helm-java: $answer"
  printf '%s\n' "$version" >"$HELM_HOME/helm-version"
  touch "$HELM_HOME/.complete"
  log "helm-java $HELM_JAVA_VERSION ready: Helm $version"
}

svc_stop() { log "nothing to stop (helm-java is a library)"; }
svc_env() { emit "WATTFLOW_HELM_CLASSPATH_FILE=$CP_FILE"; }

svc_main "$@"
