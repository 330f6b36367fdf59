#!/usr/bin/env bash
# Installs Debian packages for the tests, waiting for another apt/dpkg run to finish first
# (a machine's own updates hold the lock for minutes) and saying why when it fails.
# Usage: bash scripts/apt-install.sh PACKAGE...
set -uo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
LOCK_WAIT=${RLM_APT_LOCK_TIMEOUT:-300}
apt() {
  # apt's progress goes to stderr: a setup script's stdout is its answer (e.g. an install folder)
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT" "$@" >&2
}
if ! apt update -q; then
  echo "apt-install: 'apt-get update' failed (above). The package lists could not be read: check the network" \
    "to Debian's mirrors, or whether another apt run still held the lock after ${LOCK_WAIT}s." >&2
  exit 1
fi
if ! apt install -y -q "$@"; then
  echo "apt-install: installing $* failed (above). If another apt or dpkg run held the lock for more than" \
    "${LOCK_WAIT}s, run again (or raise RLM_APT_LOCK_TIMEOUT); if dpkg was interrupted, run 'dpkg --configure -a'." >&2
  exit 1
fi
