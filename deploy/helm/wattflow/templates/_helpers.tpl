{{/* ------------------------------------------------------------ names and labels */}}

{{- define "wattflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wattflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>, at most 63 characters */}}
{{- define "wattflow.componentName" -}}
{{- printf "%s-%s" (include "wattflow.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wattflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wattflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "wattflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "wattflow.selectorLabels" . }}
app.kubernetes.io/part-of: wattflow
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "wattflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "wattflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "wattflow.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------------ addresses */}}

{{- define "wattflow.kafkaBootstrap" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- printf "%s-kafka-bootstrap:%d" .Values.kafka.strimzi.clusterName (int .Values.kafka.strimzi.listener.port) -}}
{{- else -}}
{{- required "kafka.external.bootstrapServers is required with kafka.mode external" .Values.kafka.external.bootstrapServers -}}
{{- end -}}
{{- end -}}

{{- define "wattflow.kafkaSasl" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- if eq .Values.kafka.strimzi.listener.authentication "scram-sha-512" -}}
{{- toJson (dict "mechanism" "SCRAM-SHA-512" "username" .Values.kafka.strimzi.user.name "secret" .Values.kafka.strimzi.user.name "key" "password") -}}
{{- end -}}
{{- else if .Values.kafka.sasl.enabled -}}
{{- toJson (dict "mechanism" .Values.kafka.sasl.mechanism "username" .Values.kafka.sasl.username "secret" (required "kafka.sasl.passwordSecret.name is required with kafka.sasl.enabled" .Values.kafka.sasl.passwordSecret.name) "key" .Values.kafka.sasl.passwordSecret.key) -}}
{{- end -}}
{{- end -}}

{{/* {"secret": name, "key": key} of the CA, "{}" for TLS with the system's CAs, "" without TLS */}}
{{- define "wattflow.kafkaTls" -}}
{{- if eq .Values.kafka.mode "strimzi" -}}
{{- toJson (dict "secret" (printf "%s-cluster-ca-cert" .Values.kafka.strimzi.clusterName) "key" "ca.crt") -}}
{{- else if .Values.kafka.tls.enabled -}}
{{- if .Values.kafka.tls.caSecret.name -}}
{{- toJson (dict "secret" .Values.kafka.tls.caSecret.name "key" .Values.kafka.tls.caSecret.key) -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "wattflow.influxUrl" -}}
{{- if .Values.influxdb.enabled -}}
{{- printf "http://%s:8086" (include "wattflow.componentName" (dict "ctx" . "component" "influxdb")) -}}
{{- else -}}
{{- .Values.influxdb.external.url -}}
{{- end -}}
{{- end -}}

{{- define "wattflow.registryUrl" -}}
{{- printf "http://%s:%d" (include "wattflow.componentName" (dict "ctx" . "component" "registry")) (int .Values.httpPort) -}}
{{- end -}}

{{- define "wattflow.redisUrl" -}}
{{- printf "redis://%s:%d" (include "wattflow.componentName" (dict "ctx" . "component" "redis")) (int .Values.redis.port) -}}
{{- end -}}

{{- define "wattflow.predictorUrl" -}}
{{- printf "http://%s:%d" (include "wattflow.componentName" (dict "ctx" . "component" "vehicle-predictor")) (int .Values.vehiclePredictor.service.port) -}}
{{- end -}}

{{/* the collector's targets: given, else host:port of every collector_url of the experiment */}}
{{- define "wattflow.collectorTargets" -}}
{{- $targets := list -}}
{{- if .Values.collector.allowTargets -}}
{{- $targets = .Values.collector.allowTargets -}}
{{- else -}}
{{- range .Values.experiment.routers -}}
{{- range $id, $r := . -}}
{{- $m := regexFind "/metrics/[^/?]+_[0-9]+\\.json" (default "" $r.collector_url) -}}
{{- if $m -}}
{{- $hp := $m | trimPrefix "/metrics/" | trimSuffix ".json" -}}
{{- $i := regexFind "_[0-9]+$" $hp -}}
{{- $targets = append $targets (printf "%s:%s" (trimSuffix $i $hp) (trimPrefix "_" $i)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (uniq $targets) -}}
{{- end -}}

{{/* ------------------------------------------------------------ the configuration file */}}

{{/* wattflow's configuration (no secrets: they come as files and env from Secrets) */}}
{{- define "wattflow.config" -}}
{{- $c := dict -}}
{{- $_ := set $c "log" (dict "level" .Values.log.level "format" .Values.log.format) -}}
{{- $_ := set $c "http" (dict "host" "0.0.0.0" "port" (int .Values.httpPort)) -}}
{{- $_ := set $c "storage" (dict "dir" "/var/lib/wattflow") -}}
{{- $auth := dict "tokensFile" "/etc/wattflow/tokens/tokens.yaml" -}}
{{- if .Values.auth.allowUnauthenticated -}}{{- $_ := set $auth "allowUnauthenticated" true -}}{{- end -}}
{{- $_ := set $c "auth" $auth -}}
{{- if .Values.topology.network -}}
{{- $kafka := dict "brokers" (splitList "," (include "wattflow.kafkaBootstrap" .)) "clientId" (include "wattflow.fullname" .) "partitions" (int .Values.kafka.partitions) -}}
{{- $sasl := include "wattflow.kafkaSasl" . -}}
{{- if $sasl -}}
{{- $s := fromJson $sasl -}}
{{- $_ := set $kafka "sasl" (dict "mechanism" $s.mechanism "username" $s.username "passwordFile" "/etc/wattflow/kafka-sasl/password") -}}
{{- end -}}
{{- $tls := include "wattflow.kafkaTls" . -}}
{{- if $tls -}}
{{- $t := fromJson $tls -}}
{{- if $t.secret -}}
{{- $_ := set $kafka "tls" (dict "caFile" (printf "/etc/wattflow/kafka-ca/%s" $t.key)) -}}
{{- else -}}
{{- $_ := set $kafka "tls" true -}}
{{- end -}}
{{- end -}}
{{- $_ := set $c "fabric" (dict "kind" "kafka" "kafka" $kafka) -}}
{{- $_ := set $c "network" (dict "experiment" "/etc/wattflow/experiment/config.json" "watch" true) -}}
{{- $targets := fromJsonArray (include "wattflow.collectorTargets" .) -}}
{{- if $targets -}}{{- $_ := set $c "collector" (dict "allowTargets" $targets) -}}{{- end -}}
{{- end -}}
{{- $influx := include "wattflow.influxUrl" . -}}
{{- if $influx -}}
{{- $_ := set $c "influx" (dict "url" $influx "database" .Values.influxdb.database) -}}
{{- end -}}
{{- $registry := dict "url" (include "wattflow.registryUrl" .) -}}
{{- if .Values.registry.s3.enabled -}}
{{- $s3 := dict "bucket" .Values.registry.s3.bucket "region" .Values.registry.s3.region "prefix" .Values.registry.s3.prefix "forcePathStyle" .Values.registry.s3.forcePathStyle -}}
{{- if .Values.registry.s3.endpoint -}}{{- $_ := set $s3 "endpoint" .Values.registry.s3.endpoint -}}{{- end -}}
{{- $_ := set $registry "artifacts" (dict "kind" "s3" "s3" $s3) -}}
{{- end -}}
{{- $_ := set $c "registry" $registry -}}
{{- if .Values.topology.vehicleEdge -}}
{{- $vehicle := dict "redis" (dict "url" (include "wattflow.redisUrl" .)) -}}
{{- $_ := set $vehicle "inference" (dict "mode" .Values.vehicle.mode "url" (include "wattflow.predictorUrl" .)) -}}
{{- $_ := set $vehicle "predictor" (dict "mode" (ternary "push" "poll" (eq .Values.vehicle.mode "push"))) -}}
{{- $model := dict "registryUrl" (include "wattflow.registryUrl" .) -}}
{{- if eq .Values.vehiclePredictor.model.source "ref" -}}{{- $_ := set $model "ref" .Values.vehiclePredictor.model.ref -}}{{- end -}}
{{- if eq .Values.vehiclePredictor.model.source "path" -}}{{- $_ := set $model "path" (required "vehiclePredictor.model.path is required with model.source path" .Values.vehiclePredictor.model.path) -}}{{- end -}}
{{- $_ := set $vehicle "model" $model -}}
{{- $_ := set $c "vehicle" $vehicle -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $c (deepCopy .Values.config)) -}}
{{- end -}}

{{/* ------------------------------------------------------------ secrets by reference */}}

{{- define "wattflow.tokensSecret" -}}
{{- if .Values.auth.generate -}}
{{- toJson (dict "name" (printf "%s-tokens" (include "wattflow.fullname" .)) "key" "tokens.yaml") -}}
{{- else -}}
{{- toJson (dict "name" (required "auth.existingSecret.name is required with auth.generate false" .Values.auth.existingSecret.name) "key" .Values.auth.existingSecret.key) -}}
{{- end -}}
{{- end -}}

{{/* the client token of a role: {name, key} (args: ctx, role) */}}
{{- define "wattflow.clientTokenRef" -}}
{{- $per := index .ctx.Values.auth.clientTokens .role | default dict -}}
{{- if $per.name -}}
{{- toJson (dict "name" $per.name "key" (default "token" $per.key)) -}}
{{- else if .ctx.Values.auth.clientToken.name -}}
{{- toJson (dict "name" .ctx.Values.auth.clientToken.name "key" .ctx.Values.auth.clientToken.key) -}}
{{- else if .ctx.Values.auth.generate -}}
{{- toJson (dict "name" (printf "%s-internal-token" (include "wattflow.fullname" .ctx)) "key" "token") -}}
{{- else -}}
{{- fail (printf "auth.clientToken.name (or auth.clientTokens.%s) is required with auth.generate false: the token role %s sends to other wattflow servers" .role .role) -}}
{{- end -}}
{{- end -}}

{{/* ------------------------------------------------------------ the pod of a wattflow role */}}

{{/*
  wattflow.pod: the pod template of one wattflow role. Args (dict):
    ctx        the root context
    component  component name (labels, names)
    role       the CLI role (first argument)
    v          the component's values (resources, nodeSelector, tolerations, affinity,
               podAnnotations, extraEnv, extraArgs)
    args       extra arguments after the role (list)
    experiment mount the experiment ConfigMap (bool)
    state      the /var/lib/wattflow volume source (dict), default emptyDir
    env        extra env (list)
    volumes, mounts  extra volumes and mounts (lists)
    ports      extra container ports (list)
    nodeSelector, tolerations  override the component's (edge pods)
    hostPID    bool
    securityContext  container securityContext override (dict)
    podSecurityContext  pod securityContext override (dict)
    annotations  extra pod annotations (dict)
    port       the HTTP port (default httpPort)
    containerName  default "wattflow"
*/}}
{{- define "wattflow.pod" -}}
{{- $ctx := .ctx -}}
{{- $v := .v -}}
{{- $port := int (default $ctx.Values.httpPort .port) -}}
{{- $tokens := fromJson (include "wattflow.tokensSecret" $ctx) -}}
{{- $client := fromJson (include "wattflow.clientTokenRef" (dict "ctx" $ctx "role" .role)) -}}
{{- $sasl := include "wattflow.kafkaSasl" $ctx -}}
{{- $tls := include "wattflow.kafkaTls" $ctx -}}
{{- $network := and $ctx.Values.topology.network (has .role (list "producer" "processor" "inference" "api" "registry")) -}}
metadata:
  labels:
    {{- include "wattflow.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
  annotations:
    checksum/config: {{ include "wattflow.config" $ctx | sha256sum }}
    {{- if $ctx.Values.metrics.annotatePods }}
    prometheus.io/scrape: "true"
    prometheus.io/port: {{ $port | quote }}
    prometheus.io/path: /metrics
    {{- end }}
    {{- with .annotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    {{- with $v.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "wattflow.serviceAccountName" $ctx }}
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with $ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if .hostPID }}
  hostPID: true
  {{- end }}
  securityContext:
    {{- toYaml (default $ctx.Values.podSecurityContext .podSecurityContext) | nindent 4 }}
  terminationGracePeriodSeconds: 30
  containers:
    - name: {{ default "wattflow" .containerName }}
      image: {{ include "wattflow.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      args:
        - {{ .role }}
        {{- range .args }}
        - {{ . | quote }}
        {{- end }}
        {{- range $v.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      env:
        - name: WATTFLOW_CONFIG
          value: /etc/wattflow/config/config.yaml
        - name: PORT
          value: {{ $port | quote }}
        - name: WATTFLOW_TOKENS_FILE
          value: /etc/wattflow/tokens/tokens.yaml
        - name: WATTFLOW_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ $client.name }}
              key: {{ $client.key }}
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: POD_NAMESPACE
          valueFrom:
            fieldRef:
              fieldPath: metadata.namespace
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        {{- if and $sasl $network }}
        - name: KAFKA_SASL_PASSWORD_FILE
          value: /etc/wattflow/kafka-sasl/password
        {{- end }}
        {{- if and $ctx.Values.registry.s3.enabled $ctx.Values.registry.s3.credentialsSecret.name (has .role (list "registry" "inference")) }}
        - name: S3_ACCESS_KEY_ID
          valueFrom:
            secretKeyRef:
              name: {{ $ctx.Values.registry.s3.credentialsSecret.name }}
              key: {{ $ctx.Values.registry.s3.credentialsSecret.accessKeyIdKey }}
        - name: S3_SECRET_ACCESS_KEY
          valueFrom:
            secretKeyRef:
              name: {{ $ctx.Values.registry.s3.credentialsSecret.name }}
              key: {{ $ctx.Values.registry.s3.credentialsSecret.secretAccessKeyKey }}
        {{- end }}
        {{- if and $ctx.Values.influxdb.auth.enabled (has .role (list "api" "vehicle-predictor")) }}
        - name: WATTFLOW__influx__username
          valueFrom:
            secretKeyRef:
              name: {{ required "influxdb.auth.secret.name is required with influxdb.auth.enabled" $ctx.Values.influxdb.auth.secret.name }}
              key: {{ $ctx.Values.influxdb.auth.secret.usernameKey }}
        - name: WATTFLOW__influx__password
          valueFrom:
            secretKeyRef:
              name: {{ $ctx.Values.influxdb.auth.secret.name }}
              key: {{ $ctx.Values.influxdb.auth.secret.passwordKey }}
        {{- end }}
        {{- if and $ctx.Values.redis.passwordSecret.name (has .role (list "vehicle-api" "vehicle-predictor")) }}
        - name: REDIS_PASSWORD
          valueFrom:
            secretKeyRef:
              name: {{ $ctx.Values.redis.passwordSecret.name }}
              key: {{ $ctx.Values.redis.passwordSecret.key }}
        {{- end }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- with $v.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      ports:
        - name: http
          containerPort: {{ $port }}
          protocol: TCP
        {{- with .ports }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ $ctx.Values.probes.startup.periodSeconds }}
        failureThreshold: {{ $ctx.Values.probes.startup.failureThreshold }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: {{ $ctx.Values.probes.liveness.periodSeconds }}
        timeoutSeconds: {{ $ctx.Values.probes.liveness.timeoutSeconds }}
        failureThreshold: {{ $ctx.Values.probes.liveness.failureThreshold }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: {{ $ctx.Values.probes.readiness.periodSeconds }}
        timeoutSeconds: {{ $ctx.Values.probes.readiness.timeoutSeconds }}
        failureThreshold: {{ $ctx.Values.probes.readiness.failureThreshold }}
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      securityContext:
        {{- toYaml (default $ctx.Values.containerSecurityContext .securityContext) | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/wattflow/config
          readOnly: true
        - name: tokens
          mountPath: /etc/wattflow/tokens
          readOnly: true
        {{- if .experiment }}
        # the directory, never a subPath: the kubelet updates a ConfigMap volume by swapping
        # its ..data symlink, and the experiment watcher follows it (no restart)
        - name: experiment
          mountPath: /etc/wattflow/experiment
          readOnly: true
        {{- end }}
        {{- if and $sasl $network }}
        - name: kafka-sasl
          mountPath: /etc/wattflow/kafka-sasl
          readOnly: true
        {{- end }}
        {{- if and $tls $network (fromJson $tls).secret }}
        - name: kafka-ca
          mountPath: /etc/wattflow/kafka-ca
          readOnly: true
        {{- end }}
        - name: state
          mountPath: /var/lib/wattflow
        - name: tmp
          mountPath: /tmp
        {{- with .mounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "wattflow.componentName" (dict "ctx" $ctx "component" "config") }}
    - name: tokens
      secret:
        secretName: {{ $tokens.name }}
        items:
          - key: {{ $tokens.key }}
            path: tokens.yaml
    {{- if .experiment }}
    - name: experiment
      configMap:
        name: {{ include "wattflow.componentName" (dict "ctx" $ctx "component" "experiment") }}
    {{- end }}
    {{- if and $sasl $network }}
    {{- $s := fromJson $sasl }}
    - name: kafka-sasl
      secret:
        secretName: {{ $s.secret }}
        items:
          - key: {{ $s.key }}
            path: password
    {{- end }}
    {{- if and $tls $network (fromJson $tls).secret }}
    {{- $t := fromJson $tls }}
    - name: kafka-ca
      secret:
        secretName: {{ $t.secret }}
        items:
          - key: {{ $t.key }}
            path: {{ $t.key }}
    {{- end }}
    - name: state
      {{- if .state }}
      {{- toYaml .state | nindent 6 }}
      {{- else }}
      emptyDir:
        sizeLimit: 1Gi
      {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    {{- with .volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with (default $v.nodeSelector .nodeSelector) }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with (default $v.tolerations .tolerations) }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* A ClusterIP Service for a component's http port (args: ctx, component, port, extra spec dict, name) */}}
{{- define "wattflow.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ default (include "wattflow.componentName" .) .name }}
  labels:
    {{- include "wattflow.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "wattflow.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ int (default .ctx.Values.httpPort .port) }}
      targetPort: http
      protocol: TCP
  {{- with .spec }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a component (args: ctx, component) */}}
{{- define "wattflow.pdb" -}}
{{- if .ctx.Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "wattflow.componentName" . }}
  labels:
    {{- include "wattflow.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .ctx.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "wattflow.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}
