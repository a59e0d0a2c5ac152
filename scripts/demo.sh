#!/usr/bin/env bash
# The demo on a fresh machine: installs what is missing (npm dependencies, the Debian
# prometheus package), then starts a local Prometheus, synthetic catalogo v1.1/v1.2 traffic
# and the judge, and shows a good canary passing and a bad one failing. A few minutes at most;
# everything it starts is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  echo "demo: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  echo "demo: installing the Debian prometheus package"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq prometheus >/dev/null
fi

# The Debian package enables a system Prometheus service on install; the demo starts its own
# on a free loopback port and never touches that one.
exec node --import tsx demo/run.ts
