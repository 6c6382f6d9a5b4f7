#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries (initdb, pg_ctl) for the tests that start a throwaway
# cluster (tests/servers.py: tests/test_feedback_pg.py, tests/test_replicas.py), only when they are missing.
# No service is started or enabled: the tests run their own cluster on a free port and stop it. Needs root/apt.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
. "$(dirname "$0")/apt_root.sh"
apt_root install_postgres.sh "PostgreSQL (initdb, pg_ctl)" postgresql
# policy-rc.d 101: the package must not start its own cluster service inside CI
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
$SUDO rm -f /usr/sbin/policy-rc.d
ls /usr/lib/postgresql/*/bin/initdb >/dev/null || { echo "install_postgres.sh: postgresql installed but no initdb" >&2; exit 1; }
echo "postgresql installed: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
