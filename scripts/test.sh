#!/usr/bin/env bash
# Run every check and test of runnerfleet on this machine, installing what they need first.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== ruff"; .venv/bin/ruff check src tests
echo "== mypy --strict"; .venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
