#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; no browser download).
set -euo pipefail
if ! command -v chromium >/dev/null; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi
command -v chromium
