# canary-judge image: multi-stage build on Node.js 24 LTS, production dependencies only, uid 10001,
# runs with a read-only root filesystem and no capabilities (deploy/canary-judge does so).
# It also carries the Argo Rollouts metric plugin (plugins/metric) for linux/amd64 and arm64 at
# /opt/canary-judge/plugins/, for the controller's init container (plugins/README.md). No Go
# toolchain image is used: the reproducible binaries are built first, into plugins/metric/dist
# (ignored by git, let into the context by .dockerignore), and copied as they are:
#   bash scripts/build-plugin.sh               (plugins/metric/dist, the sums it prints)
#   buildah build -t canary-judge:0.1.0 .      (or: docker build -t canary-judge:0.1.0 .)
# scripts/build-image.sh runs both.
# Ports: 8080 HTTP API (POST /api/v1/analyses, /healthz, /readyz, /metrics), 9090 gRPC.
# No HEALTHCHECK: Kubernetes probes it — liveness GET /healthz, readiness GET /readyz on 8080
# (readiness reports Prometheus reachability but does not fail on it). See docs/configuration.md.
# The base's version is kept with the test runtime's in scripts/lib/runtime-versions.sh; a
# pipeline may pin it further by digest: --build-arg NODE_IMAGE=node:<version>-bookworm-slim@sha256:…

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# 1. compile TypeScript with the dev dependencies
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 2. production dependencies only, without what some packages publish beside their code: source
# maps, test suites (and their declarations), TypeScript sources (node never loads .ts from
# node_modules; other declarations stay)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && find node_modules -type f \( -name '*.map' -o -name '*.test.*' -o -name '*.spec.*' \
      -o \( \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' \) \
      -o \( \( -path '*/test/*' -o -path '*/tests/*' -o -path '*/__tests__/*' \) -name '*.d.*ts' \) \) \
      -delete \
 && find node_modules -depth -type d -regextype posix-extended \
      -regex '(.*/)?node_modules/(@[^/]+/)?[^/]+/(test|tests|__tests__|spec|specs)' -exec rm -rf {} + \
 && find node_modules -depth -type d -empty -delete

# 3. runtime: compiled code + production node_modules, as an unprivileged user. The package
# managers of the base (npm, npx, corepack, yarn) are removed: nothing runs them at runtime, and
# their bundled dependencies would only widen what a scanner has to clear.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    CANARY_JUDGE_HOST=0.0.0.0 \
    CANARY_JUDGE_PORT=8080 \
    CANARY_JUDGE_GRPC_PORT=9090
WORKDIR /app
# Debian's published updates, the security archive's among them, taken when the image is built:
# it ships with no security fix pending on that day (the scan stage, scripts/scan-image.sh, checks
# the image's packages against bookworm-security). DEBIAN_UPDATES names the archive's state
# (scripts/build-image.sh passes the security index's date), so a layer cache runs this step
# again once a new fix is out; a build without it simply runs it.
ARG DEBIAN_UPDATES=
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq --no-install-recommends \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && groupadd --gid 10001 judge \
 && useradd --no-log-init --uid 10001 --gid judge --no-create-home --shell /usr/sbin/nologin judge
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# The metric plugin, owned by root (the judge's user cannot change it): the init container runs
# `/opt/canary-judge/plugins/canary-judge-metric-plugin-linux-<arch> --install <dir>`, which copies
# the binary into <dir>. Its sha256 is the one in the shipped registration (test/image checks it).
COPY plugins/metric/dist/canary-judge-metric-plugin-linux-amd64 \
     plugins/metric/dist/canary-judge-metric-plugin-linux-arm64 /opt/canary-judge/plugins/
USER 10001:10001
EXPOSE 8080 9090
# node is PID 1 on purpose: the service installs its own SIGTERM/SIGINT handlers (fail readiness,
# finish in-flight analyses, exit 0) and starts no child processes, so no init is needed to
# forward signals or reap zombies. SIGTERM is the default stop signal.
ENTRYPOINT ["node", "dist/src/main.js"]
