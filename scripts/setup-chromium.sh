#!/usr/bin/env bash
# Debian's Chromium for the browser tests (playwright-core drives it; no browser download),
# and a CJK font so that the Chinese screenshots show characters, not boxes.
set -euo pipefail
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ "${#missing[@]}" -gt 0 ]; then
  bash "$(dirname "$0")/apt-install.sh" "${missing[@]}"
fi
command -v chromium
