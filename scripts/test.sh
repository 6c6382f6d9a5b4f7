#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs the unit + integration tests
# and the eval gate (quality floors in eval/floors.json). Offline apart from PyPI/apt.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -r requirements.txt
[ -x scripts/install_browser.sh ] && bash scripts/install_browser.sh || true
[ -x scripts/install_postgres.sh ] && bash scripts/install_postgres.sh || true     # tests/test_feedback_pg.py, test_replicas.py
python -m pytest -q -p no:cacheprovider
python -m eval --gate
