#!/usr/bin/env bash
# Build runnerfleet's docker helper image `runnerfleet/helper:<version>` FROM runnerfleet/debian:bookworm
# (scripts/testworld/images.sh), with runnerfleet installed from wheels built here with `pip wheel`.
# Skips the build when the image already holds this source tree (label runnerfleet.source).
# Usage: scripts/build-helper-image.sh [--force]
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
version=$("$python" -c 'from runnerfleet.version import VERSION; print(VERSION)')
tag="runnerfleet/helper:$version"
source_id=$( (cat pyproject.toml images/helper/Dockerfile; find src -name '*.py' -print0 | sort -z | xargs -0 cat) \
  | sha256sum | cut -c1-16)
if [ "${1:-}" != "--force" ] && \
   [ "$(docker image inspect -f '{{index .Config.Labels "runnerfleet.source"}}' "$tag" 2>/dev/null)" = "$source_id" ]; then
  echo "helper image: $tag is up to date"; exit 0
fi
docker image inspect runnerfleet/debian:bookworm >/dev/null 2>&1 \
  || { echo "helper image: runnerfleet/debian:bookworm is missing; run scripts/testworld/images.sh" >&2; exit 1; }
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/wheels" "$ctx/tree"
# Build from a copy: pip's build leaves build/ and *.egg-info behind in the tree it builds.
cp -r pyproject.toml README.md src "$ctx/tree/"
find "$ctx/tree" -name __pycache__ -prune -exec rm -rf {} +
"$python" -m pip wheel -q --wheel-dir "$ctx/wheels" "$ctx/tree" pip 2> >(grep -v "is ignored: it is neither" >&2) >/dev/null
rm -rf "$ctx/tree"
cp images/helper/Dockerfile "$ctx/"
docker build -q --build-arg VERSION="$version" --label runnerfleet.source="$source_id" -t "$tag" "$ctx" >/dev/null
echo "helper image: built $tag"
