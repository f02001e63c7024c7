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
exit 0
