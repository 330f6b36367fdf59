#!/usr/bin/env bash
# Debian's redis-server for the team-mode tests and `npm run start:team` (each starts its own
# on a free port, persistence off). Prints the path of redis-server.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
  bash "$(dirname "$0")/apt-install.sh" redis-server
fi
command -v redis-server
