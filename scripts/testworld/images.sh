#!/usr/bin/env bash
# Build the local images the tests use, without any registry: debootstrap a Debian rootfs,
# `docker import` it, then `docker build FROM` it. Each image is rebuilt only when this script or
# its Dockerfile changed (label runnerfleet.recipe).
#   runnerfleet-test/debian:bookworm          minimal Debian with git, curl, ca-certificates, python3
#   runnerfleet-test/debian-systemd:bookworm  systemd host (molecule, ssh/virtualbox targets)
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
command -v debootstrap >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
recipe=$(sha256sum <"$self" | cut -c1-12)
cache="${RUNNERFLEET_IMAGE_CACHE:-/var/cache/runnerfleet-images}"
mkdir -p "$cache"

have() {  # image exists and was built by this recipe
  [ "$(docker image inspect -f '{{index .Config.Labels "runnerfleet.recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}

rootfs_image() {  # name, debootstrap --include list
  local name=$1 include=$2 dir
  have "$name" && return 0
  dir=$(mktemp -d "$cache/rootfs.XXXXXX")
  echo "testworld: debootstrap $name (about a minute)"
  debootstrap --variant=minbase --include="$include" bookworm "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1 \
    || { echo "testworld: debootstrap failed, see $dir.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c "LABEL runnerfleet.recipe=$recipe" -c 'CMD ["/bin/bash"]' - "$name" >/dev/null
  rm -rf "$dir" "$dir.log"
  echo "testworld: built $name"
}

rootfs_image runnerfleet-test/debian:bookworm \
  git,curl,ca-certificates,python3,procps,openssh-client
rootfs_image runnerfleet-test/debian-systemd:bookworm \
  systemd,systemd-sysv,dbus,python3,python3-venv,python3-apt,openssh-server,git,sudo,ca-certificates,curl,iproute2,procps
