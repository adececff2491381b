#!/usr/bin/env bash
# Build the runnerfleet.gitlab collection, install the tarball into a temporary collections path
# and run its gates there: ansible-test sanity (Python 3.11, local) and ansible-doc per module.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
PYTHON_VERSION=3.11

for tool in ansible-galaxy ansible-test ansible-doc; do
    if [[ ! -x $VENV_BIN/$tool ]]; then
        echo "collection-checks: $VENV_BIN/$tool not found; install ansible-core into the venv" \
             "(.venv/bin/pip install -e '.[test]')" >&2
        exit 1
    fi
done
export PATH="$VENV_BIN:$PATH"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/collection-checks.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "== ansible-galaxy collection build"
ansible-galaxy collection build --force --output-path "$WORK/dist" "$ROOT" >/dev/null
TARBALL=$(ls "$WORK"/dist/runnerfleet-gitlab-*.tar.gz)
echo "built $(basename "$TARBALL")"

echo "== ansible-galaxy collection install"
ansible-galaxy collection install --force --offline -p "$WORK/collections" "$TARBALL" >/dev/null 2>&1
INSTALLED=$WORK/collections/ansible_collections/runnerfleet/gitlab
test -f "$INSTALLED/plugins/modules/runner.py"
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections

echo "== ansible-doc"
modules=$(cd "$INSTALLED/plugins/modules" && ls *.py | sed 's/\.py$//')
for module in $modules; do
    ansible-doc -t module "runnerfleet.gitlab.$module" >"$WORK/doc-$module.txt"
    grep -q "runnerfleet.gitlab.$module" "$WORK/doc-$module.txt"
    echo "ok   runnerfleet.gitlab.$module"
done

# ansible-test bootstraps pip into its per-test virtualenvs with a get-pip script it downloads
# from a host this machine cannot reach (only package registries are reachable). The stand-in
# below does the same job offline first (the Python's bundled ensurepip wheel), then installs the
# pip version ansible-test asks for from the package index like every other requirement.
install_pip_bootstrap() {
    local version cache
    # The pip version ansible-test pins (internal API: if it moves, ansible-test downloads).
    version=$("$VENV_BIN/python" - 2>/dev/null <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
print(get_venv_packages(NativePythonConfig(version="3.11", path=""))["pip"])
PY
) || return 0
    cache=$HOME/.ansible/test/cache/get_pip_${version//./_}.py
    [[ -f $cache ]] && return 0
    mkdir -p "$(dirname "$cache")"
    cat >"$cache" <<'PY'
"""Stand-in for get-pip.py: pip from ensurepip's bundled wheel, then the requested pip version."""
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"],
                      stdout=subprocess.DEVNULL)
args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", *args]))
PY
}
install_pip_bootstrap

echo "== ansible-test sanity (python $PYTHON_VERSION, local)"
# Only the collection's own plugins and metadata are Ansible content; the engine under src/ has
# its own gates (ruff, mypy --strict, pytest).
cd "$INSTALLED"
# validate-modules demands a GPLv3 header in every module; this collection is MIT licensed
# (galaxy.yml), so that one check is recorded as not applying to each module, and nothing else.
core=$("$VENV_BIN/python" -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))')
mkdir -p tests/sanity
for module in $modules; do
    echo "plugins/modules/$module.py validate-modules:missing-gplv3-license # MIT licensed"
done >"tests/sanity/ignore-$core.txt"
ansible-test sanity --local --python "$PYTHON_VERSION" --color no \
    plugins/ meta/
