#!/usr/bin/env bash
# Real-browser end-to-end test: "Sign in with Bink" through `bink-proxy dev`, driven in
# headless Chromium (Debian's package; playwright cannot download browsers here).
# Installs what it needs, then runs tests/browser/login.mjs (sign-in) and
# tests/browser/integrations.mjs (Kombo with the real @kombo-api/connect, Bindbee). Works
# from any directory.
# BINK_PROXY_BIN overrides the binary (default target/debug/bink-proxy, relative to the repo).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "installing chromium (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/@kombo-api/connect" ]; then
  (cd "$here" && npm ci --no-audit --no-fund)
fi

bin="${BINK_PROXY_BIN:-target/debug/bink-proxy}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
  if [ -n "${BINK_PROXY_BIN:-}" ]; then
    echo "BINK_PROXY_BIN=$BINK_PROXY_BIN is not an executable" >&2
    exit 1
  fi
  cargo build --locked --bin bink-proxy
fi

node "$here/login.mjs"
node "$here/integrations.mjs"
