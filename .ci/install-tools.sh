#!/usr/bin/env bash
# External tools the integration tests need; idempotent, installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# (extended by later issues: provider contract mocks, headless browser)
exit 0
