#!/usr/bin/env bash
# Run every check and test of runnerfleet on this machine, installing what they need first:
# Debian packages and the venv, a Docker engine and the locally built images, then lint, types,
# pytest (unit, integration against real servers) and the Ansible collection's gates.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*"; }
step "setup"; scripts/setup.sh --test
step "docker engine and test images"
scripts/testworld/dockerd.sh
scripts/testworld/images.sh
[ -x scripts/build-helper-image.sh ] && scripts/build-helper-image.sh
step "ruff"; .venv/bin/ruff check src tests plugins
step "mypy --strict"; .venv/bin/mypy
# --durations: the slowest tests in the log, to keep the run inside its time budget.
step "pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 "$@"
step "collection gates"; bash scripts/collection-checks.sh
[ -x scripts/molecule.sh ] && { step "molecule"; bash scripts/molecule.sh; }
echo
echo "all checks passed"
