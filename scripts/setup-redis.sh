#!/usr/bin/env bash
# Debian's redis-server for the team-mode tests and `npm run start:team` (each starts its own
# on a free port, persistence off), and openssl for the rediss:// (TLS) test's certificate.
# Prints the path of redis-server.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  bash "$(dirname "$0")/apt-install.sh" "${missing[@]}"
fi
command -v redis-server
