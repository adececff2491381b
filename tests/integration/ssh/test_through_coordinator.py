"""`runnerfleet run` with an ssh runner: the shell executor's job set, jobs from a coordinator, real git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ssh.gitjobs import BridgeFleet, RemoteSide, fleet, run_job_set
from tests.integration.ssh.sshd import KeyPair, SshdContainer, start_sshd
from tests.integration.ssh.targets import build_wheelhouse, install_runnerfleet

pytestmark = pytest.mark.integration
__all__ = ["fleet"]  # fixture


@pytest.fixture
def target(test_image: None, key: KeyPair) -> Iterator[SshdContainer]:
    """An sshd container with git and runnerfleet; it reaches the coordinator on the bridge."""
    container = start_sshd(key)
    try:
        install_runnerfleet(container.name, build_wheelhouse())
        yield container
    finally:
        container.remove()


def test_the_shell_executors_job_set_passes_over_ssh_with_nothing_left_running(
    fleet: BridgeFleet, target: SshdContainer, key: KeyPair, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(target.host_key_line + "\n")
    fleet.write_config(
        {"name": "remote", "token": fleet.create_runner("remote"), "executor": "ssh",
         "ssh": {"host": "127.0.0.1", "port": str(target.port), "user": "root",
                 "identity_file": str(key.private_path), "known_hosts_file": str(known_hosts)}},
        {"name": "local", "token": fleet.create_runner("local"), "executor": "shell"},
    )
    run_job_set(fleet, RemoteSide("remote", keeps_checkout=True, processes=target.processes))
    # Nothing of any job runs on the target any more: only sshd is left.
    assert target.processes() == []
    assert fleet.world.journal_records == []
