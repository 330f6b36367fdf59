#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
set -euo pipefail
if ! command -v chromium >/dev/null; then
  bash "$(dirname "$0")/apt-install.sh" chromium
fi
command -v chromium
