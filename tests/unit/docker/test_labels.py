"""Orphan detection by owner label: resources of dead runner processes of this machine only."""

from __future__ import annotations

import subprocess

from runnerfleet.executors.docker import labels as L


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_resources_of_this_process_are_not_orphans() -> None:
    assert not L.is_orphan({L.OWNER: L.owner(), L.HOSTNAME: L.hostname()})


def test_resources_of_a_dead_process_on_this_machine_are_orphans() -> None:
    boot = L.owner().split(":")[0]
    assert L.is_orphan({L.OWNER: f"{boot}:{_dead_pid()}:123", L.HOSTNAME: L.hostname()})


def test_cache_volumes_and_other_machines_resources_are_never_orphans() -> None:
    boot = L.owner().split(":")[0]
    assert not L.is_orphan({L.OWNER: f"{boot}:{_dead_pid()}:123", L.TYPE: L.CACHE})
    assert not L.is_orphan({L.OWNER: f"other-boot:{_dead_pid()}:1", L.HOSTNAME: "another-host"})
    assert not L.is_orphan({})
