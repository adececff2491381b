#!/usr/bin/env bash
# Run the runnerfleet.gitlab molecule scenarios the way a user's CI would: from the collection
# tarball, installed into a temporary collections path, against a coordinator (GitLab) on the
# docker bridge.
#
#   bash scripts/molecule.sh                    # every scenario under molecule/: `molecule test` each
#   bash scripts/molecule.sh default upgrade    # only these
#   MOLECULE_COMMAND=converge bash scripts/molecule.sh default   # another molecule command
#
# First gate: ansible-lint (production profile) on the installed roles, playbooks and scenarios.
# Installs into .venv (pinned): molecule, molecule-plugins[docker], pytest-testinfra, ansible-lint, and the two
# collections the docker driver needs (community.docker, ansible.posix), copied out of the
# `ansible` wheel (no Galaxy). Starts dockerd and builds the test images if needed. For each
# scenario it starts `runnerfleet coordinator` on 172.17.0.1 (a free port), exports
# RUNNERFLEET_MOLECULE_URL / RUNNERFLEET_MOLECULE_PAT for the inventory and the verifiers, and
# stops it afterwards. Prints each scenario's duration.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
BRIDGE_ADDRESS=${RUNNERFLEET_MOLECULE_ADDRESS:-172.17.0.1}
MOLECULE_COMMAND=${MOLECULE_COMMAND:-test}
ANSIBLE_WHEEL_VERSION=12.3.0
PINS=(molecule==26.10.0 "molecule-plugins[docker]==26.10.12" pytest-testinfra==10.2.2 ansible-lint==26.10.1)
if [[ $# -gt 0 ]]; then
    scenarios=("$@")
else  # default first (the quickest signal), then the others
    mapfile -t scenarios < <(cd molecule && ls -d */ | tr -d / | grep -vx shared | sort | awk '$0=="default"{print; next} {rest=rest $0 "\n"} END{printf "%s", rest}')
fi

say() { printf '== %s\n' "$*"; }
export PATH="$VENV/bin:$PATH"
unset HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy ALL_PROXY all_proxy

# -- tools ---------------------------------------------------------------------------------------
installed() {  # every pinned distribution at its version?
    "$VENV/bin/python" - "${PINS[@]}" <<'PY'
import importlib.metadata as m, re, sys
for pin in sys.argv[1:]:
    name, version = re.sub(r"\[.*\]", "", pin).split("==")
    try:
        if m.version(name) != version:
            sys.exit(1)
    except m.PackageNotFoundError:
        sys.exit(1)
PY
}
if ! installed; then
    say "installing ${PINS[*]} into $VENV"
    "$VENV/bin/pip" install -q "${PINS[@]}" 2>&1 | grep -v '^WARNING: Location' || true
    installed || { echo "molecule.sh: installing ${PINS[*]} failed" >&2; exit 1; }
fi

PURELIB=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ ! -d $PURELIB/ansible_collections/community/docker || ! -d $PURELIB/ansible_collections/ansible/posix ]]; then
    say "community.docker and ansible.posix from the ansible $ANSIBLE_WHEEL_VERSION wheel"
    download=$(mktemp -d)
    "$VENV/bin/pip" download -q --no-deps "ansible==$ANSIBLE_WHEEL_VERSION" -d "$download" 2>&1 \
        | grep -v '^WARNING: Location' || true
    "$VENV/bin/python" - "$download"/ansible-*.whl "$PURELIB" <<'PY'
import sys, zipfile
wheel, target = sys.argv[1], sys.argv[2]
wanted = ("ansible_collections/community/docker/", "ansible_collections/ansible/posix/")
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(target, [n for n in archive.namelist() if n.startswith(wanted)])
PY
    rm -rf "$download"
fi

# The docker driver copies a scenario's Dockerfile build context with rsync (ansible.posix.synchronize).
if ! command -v rsync >/dev/null 2>&1; then
    say "installing rsync (molecule's docker driver builds images with it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsync >/dev/null
fi

say "docker engine and test images"
bash scripts/testworld/dockerd.sh
bash scripts/testworld/images.sh
ip -4 -o addr show dev docker0 | grep -q " $BRIDGE_ADDRESS/" || {
    echo "molecule.sh: docker0 does not have $BRIDGE_ADDRESS; set RUNNERFLEET_MOLECULE_ADDRESS" >&2; exit 1; }

# -- the collection, from its tarball ------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/molecule-runs.XXXXXX")
COORDINATOR_PID=""
cleanup() {
    [[ -n $COORDINATOR_PID ]] && kill "$COORDINATOR_PID" 2>/dev/null && wait "$COORDINATOR_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

say "ansible-galaxy collection build + install"
ansible-galaxy collection build --force --output-path "$WORK/dist" "$ROOT" >/dev/null
ansible-galaxy collection install --force --offline -p "$WORK/collections" "$WORK"/dist/*.tar.gz >/dev/null 2>&1
INSTALLED=$WORK/collections/ansible_collections/runnerfleet/gitlab
for part in pyproject.toml src/runnerfleet roles/runner playbooks/site.yml molecule/default; do
    [[ -e $INSTALLED/$part ]] || { echo "molecule.sh: the tarball lacks $part (galaxy.yml build_ignore?)" >&2; exit 1; }
done
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
# The drivers' collections live in the venv's site-packages, which ansible scans as well.
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true
export MOLECULE_GLOB='molecule/*/molecule.yml'

say "ansible-lint --profile production (roles, playbooks, molecule of the installed collection)"
(cd "$INSTALLED" && ansible-lint --profile production --nocolor -q roles playbooks molecule)
for role in runner cntlm; do  # the argument specs render
    ansible-doc -t role "runnerfleet.gitlab.$role" | grep "ENTRY POINT: .*main" >/dev/null \
        || { echo "molecule.sh: ansible-doc -t role runnerfleet.gitlab.$role failed" >&2; exit 1; }
done

# If the deb of cntlm is needed (proxy scenario: its hosts have no route to a package mirror).
cntlm_deb() {
    local dir=$WORK/debs
    mkdir -p "$dir"
    (cd "$dir" && apt-get download -q cntlm >/dev/null 2>&1) || {
        echo "molecule.sh: apt-get download cntlm failed (the proxy scenario copies it to its hosts)" >&2; exit 1; }
    ls "$dir"/cntlm_*.deb
}

start_coordinator() {  # scenario
    local log=$WORK/coordinator-$1.log
    runnerfleet coordinator --listen "$BRIDGE_ADDRESS:0" --data-dir "$WORK/coordinator-$1" \
        --long-poll-timeout 0 >"$log" 2>&1 &
    COORDINATOR_PID=$!
    for _ in $(seq 100); do grep -q "admin token" "$log" 2>/dev/null && break; sleep 0.1; done
    RUNNERFLEET_MOLECULE_URL=$(sed -n 's/.*listening on \(\S*\).*/\1/p' "$log" | tail -1)
    RUNNERFLEET_MOLECULE_PAT=$(sed -n 's/.*admin token (PRIVATE-TOKEN): \(\S*\).*/\1/p' "$log" | tail -1)
    [[ -n $RUNNERFLEET_MOLECULE_URL && -n $RUNNERFLEET_MOLECULE_PAT ]] || {
        echo "molecule.sh: the coordinator did not start:" >&2; cat "$log" >&2; exit 1; }
    export RUNNERFLEET_MOLECULE_URL RUNNERFLEET_MOLECULE_PAT
}

stop_coordinator() {
    kill "$COORDINATOR_PID" 2>/dev/null || true
    wait "$COORDINATOR_PID" 2>/dev/null || true
    COORDINATOR_PID=""
}

# -- scenarios -----------------------------------------------------------------------------------
declare -a summary
for scenario in "${scenarios[@]}"; do
    [[ -f $INSTALLED/molecule/$scenario/molecule.yml ]] || {
        echo "molecule.sh: no scenario $scenario (have: $(ls "$INSTALLED/molecule" | grep -v shared | tr '\n' ' '))" >&2; exit 2; }
    if [[ $scenario == proxy ]]; then
        RUNNERFLEET_MOLECULE_CNTLM_DEB=$(cntlm_deb)
        export RUNNERFLEET_MOLECULE_CNTLM_DEB
    fi
    start_coordinator "$scenario"
    say "molecule $MOLECULE_COMMAND -s $scenario (GitLab: $RUNNERFLEET_MOLECULE_URL)"
    started=$(date +%s)
    status=0
    (cd "$INSTALLED" && molecule "$MOLECULE_COMMAND" -s "$scenario") || status=$?
    took=$(( $(date +%s) - started ))
    stop_coordinator
    if [[ $status -ne 0 ]]; then
        echo "molecule.sh: scenario $scenario failed after ${took}s (coordinator log: kept below)" >&2
        tail -n 40 "$WORK/coordinator-$scenario.log" >&2 || true
        exit "$status"
    fi
    summary+=("$scenario: ${took}s")
done
say "passed: ${summary[*]}"
