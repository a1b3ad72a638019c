# syntax=docker/dockerfile:1
#
# wattflow — one image for every role: `docker run IMAGE <role> [options]`
# (entrypoint `wattflow`, the role is the first argument: up, producer, processor, inference, api,
# registry, collector, vehicle-api, vehicle-predictor, energy-exporter, models, token, …).
#
# Stages:
#   build      all dependencies, TypeScript compiled to dist/
#   prod-deps  production dependencies only (npm ci --omit=dev), onnxruntime's binaries for other
#              platforms removed
#   runtime    node + dist/ + the production node_modules + the files the code reads next to
#              itself (config/, models/dummy/, the demo vehicle logs, the web UI's static
#              files); non-root (uid/gid 10001)
#
# No Docker engine is needed to check it: test/deploy/dockerfile.test.ts parses this file
# (stages, user, entrypoint, no dev dependencies in the runtime) and scripts/deploy/runtime-tree.mjs
# builds the runtime file tree these instructions describe with npm and runs it.
#
# Containers bind 0.0.0.0 (WATTFLOW_HOST), so a server role refuses to start without bearer
# tokens (WATTFLOW_TOKENS_FILE, a mounted Secret; docs/security.md) unless
# WATTFLOW_ALLOW_UNAUTHENTICATED=1 says otherwise. Set the port with PORT (the health check
# reads it). SIGTERM: the node process is PID 1 (exec-form entrypoint) and every role stops
# gracefully on it.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
# .npmrc: onnxruntime-node's install script must skip its optional CUDA download
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---------------------------------------------------------------- prod-deps
FROM ${NODE_IMAGE} AS prod-deps
ARG TARGETARCH=amd64
WORKDIR /app
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force
# onnxruntime-node ships the native runtime of every platform (bin/napi-v*/<os>/<arch>): keep this one
RUN arch="$(case "$TARGETARCH" in amd64) echo x64 ;; *) echo "$TARGETARCH" ;; esac)" && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path "*/linux/$arch" -exec rm -rf {} +

# ---------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="wattflow" \
      org.opencontainers.image.description="Streaming telemetry to energy and condition predictions at the edge: one CLI, one image, every role" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 wattflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/wattflow --no-create-home --shell /usr/sbin/nologin wattflow \
 && mkdir -p /var/lib/wattflow \
 && chown 10001:10001 /var/lib/wattflow
WORKDIR /app
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY config ./config
COPY models ./models
# the KServe V2 gRPC proto the inference workers and vehicle predictor load at start (src/router-power/inference/v2-grpc.ts)
COPY proto ./proto
COPY test/fixtures/vehicle ./test/fixtures/vehicle
# the web UI's static files (read at run time from src/ui/static, next to dist/)
COPY src/ui/static ./src/ui/static
RUN ln -s /app/dist/cli.js /usr/local/bin/wattflow && chmod 0755 /app/dist/cli.js
# a larger young generation: the stages allocate per message and spent ~20 % of their CPU in
# scavenges; 64 MB semi-spaces cut the processor's CPU per message by ~20 % for ~100 MB more
# peak RSS (docs/performance.md, CPU per message). NODE_OPTIONS= (empty) restores Node's default.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=64 \
    WATTFLOW_HOST=0.0.0.0 \
    PORT=8000 \
    WATTFLOW__storage__dir=/var/lib/wattflow
USER 10001:10001
EXPOSE 8000 28282
# /readyz answers 200 once the role serves (it implies /healthz); start-period covers the start
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["wattflow"]
CMD ["--help"]
