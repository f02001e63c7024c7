#!/usr/bin/env bash
# External tools the integration tests need; idempotent, installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# (extended by later issues: provider contract mocks, headless browser)
# Provider contract mocks (Twilio/SendGrid OpenAPI) for tests/cloud/alerts: Prism, in .tools/.
if [ ! -x .tools/node_modules/.bin/prism ]; then
  mkdir -p .tools
  npm install --prefix .tools --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5
fi
# Headless browser for the dashboard's end-to-end test (Debian's chromium, driven by the
# Python playwright package with executable_path=/usr/bin/chromium).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    echo "install-tools: /usr/bin/chromium missing; run as root: apt-get install -y chromium" >&2
  fi
fi
exit 0
