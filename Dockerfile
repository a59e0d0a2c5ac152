# canary-judge image: multi-stage build, production dependencies only, non-root.
#   docker build -t canary-judge:0.1.0 .
# Ports: 8080 HTTP API (POST /api/v1/analyses, /healthz, /readyz, /metrics), 9090 gRPC.
# No HEALTHCHECK: Kubernetes probes it — liveness GET /healthz, readiness GET /readyz on 8080
# (readiness reports Prometheus reachability but does not fail on it). See docs/configuration.md.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. compile TypeScript with the dev dependencies
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 2. production dependencies only
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. runtime: compiled code + production node_modules, as an unprivileged user
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    CANARY_JUDGE_HOST=0.0.0.0 \
    CANARY_JUDGE_PORT=8080 \
    CANARY_JUDGE_GRPC_PORT=9090
WORKDIR /app
RUN groupadd --system --gid 10001 judge \
 && useradd --system --uid 10001 --gid judge --no-create-home --shell /usr/sbin/nologin judge
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
USER 10001:10001
EXPOSE 8080 9090
# node as PID 1 is fine here: the service handles SIGTERM itself (drains, then exits).
ENTRYPOINT ["node", "dist/src/main.js"]
