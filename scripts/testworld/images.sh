#!/usr/bin/env bash
# Build the local images the tests use, without any registry: debootstrap a Debian rootfs,
# `docker import` it. Each image is rebuilt only when its recipe (name + package list) changed
# (label runnerfleet.recipe).
#   runnerfleet/debian:bookworm               minimal Debian with git, curl, ca-certificates, python3:
#                                             the base of runnerfleet's helper image and of job images
#   runnerfleet-test/debian-systemd:bookworm  systemd host (molecule, ssh/virtualbox targets)
set -euo pipefail
command -v debootstrap >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
cache="${RUNNERFLEET_IMAGE_CACHE:-/var/cache/runnerfleet-images}"
mkdir -p "$cache"

rootfs_image() {  # name, debootstrap --include list
  local name=$1 include=$2 dir recipe
  recipe=$(printf 'bookworm minbase %s' "$include" | sha256sum | cut -c1-12)
  [ "$(docker image inspect -f '{{index .Config.Labels "runnerfleet.recipe"}}' "$name" 2>/dev/null)" = "$recipe" ] \
    && return 0
  dir=$(mktemp -d "$cache/rootfs.XXXXXX")
  echo "testworld: debootstrap $name (about a minute)"
  debootstrap --variant=minbase --include="$include" bookworm "$dir" http://deb.debian.org/debian >"$dir.log" 2>&1 \
    || { echo "testworld: debootstrap failed, see $dir.log" >&2; exit 1; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  tar -C "$dir" -c . | docker import -c "LABEL runnerfleet.recipe=$recipe" -c 'CMD ["/bin/bash"]' - "$name" >/dev/null
  rm -rf "$dir" "$dir.log"
  echo "testworld: built $name"
}

rootfs_image runnerfleet/debian:bookworm \
  git,curl,ca-certificates,python3,procps,openssh-client
rootfs_image runnerfleet-test/debian-systemd:bookworm \
  systemd,systemd-sysv,dbus,python3,python3-venv,python3-apt,openssh-server,git,sudo,ca-certificates,curl,iproute2,procps
