#!/usr/bin/env bash
# Prepare this machine for runnerfleet: Debian packages, a Python venv with runnerfleet installed.
# Idempotent; safe to run again. Usage: scripts/setup.sh [--test]   (--test adds test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0; [ "${1:-}" = "--test" ] && want_test=1

packages=(git ca-certificates curl openssl python3 python3-venv)
# Real peers the tests run against: squid/tinyproxy (proxies), htpasswd for proxy users.
[ $want_test = 1 ] && packages+=(squid tinyproxy apache2-utils)

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them" >&2; exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons must not start from apt (tests start their own, on loopback).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for svc in squid tinyproxy; do pkill -x "$svc" 2>/dev/null || true; done

python=python3
if ! "$python" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed (found $($python --version 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
extras=""; [ $want_test = 1 ] && extras="[test]"
echo "setup: installing runnerfleet$extras into .venv"
.venv/bin/python -m pip install -q -e ".$extras"
echo "setup: ready ($(.venv/bin/runnerfleet --version | head -1))"
