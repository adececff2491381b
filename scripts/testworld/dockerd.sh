#!/usr/bin/env bash
# Make a Docker engine available on a machine without systemd: install docker.io, start dockerd.
# Idempotent: reuses a running daemon (never starts a second one: it would delete docker0).
set -euo pipefail
if ! command -v dockerd >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  if ! pgrep -x dockerd >/dev/null; then
    echo "testworld: starting dockerd (log: /var/log/runnerfleet-dockerd.log)"
    (setsid dockerd >/var/log/runnerfleet-dockerd.log 2>&1 &)
  fi
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
fi
docker info >/dev/null 2>&1 || { echo "testworld: dockerd did not become ready; see /var/log/runnerfleet-dockerd.log" >&2; exit 1; }
# A side daemon can delete the shared bridge; put it back so containers get a network.
if ! ip link show docker0 >/dev/null 2>&1; then
  ip link add docker0 type bridge && ip addr add 172.17.0.1/16 dev docker0 && ip link set docker0 up
fi
echo "testworld: docker $(docker version --format '{{.Server.Version}}' 2>/dev/null) ready"
