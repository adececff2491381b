"""Fixtures for Parallels executor tests: a simulated Parallels Desktop, a golden VM, a provider, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.config import RunnerConfig, SshConfig
from runnerfleet.config.schema import ParallelsConfig
from runnerfleet.executors.parallels import ParallelsExecutorProvider
from runnerfleet.executors.ssh import SshOptions
from tests.integration.build.helpers import runner_config
from tests.integration.ssh.conftest import key, test_image, world
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.integration.virtualbox.conftest import boot_script
from tests.prlsim.harness import PrlSim

GOLDEN = "macos-golden"
FAST = SshOptions(connect_retries=1, retry_interval=0.2, connect_timeout=10)
__all__ = ["key", "test_image", "world"]  # fixtures shared with the ssh tests


@pytest.fixture
def prl(test_image: None, tmp_path: Path) -> Iterator[PrlSim]:
    sim = PrlSim(tmp_path / "prl")
    try:
        yield sim
    finally:
        sim.destroy()


@pytest.fixture
def golden(prl: PrlSim, key: KeyPair) -> str:
    prl.create_golden_vm(GOLDEN, IMAGE, boot_script(key))
    return GOLDEN


def make_provider(prl: PrlSim, **kwargs: Any) -> ParallelsExecutorProvider:
    kwargs.setdefault("ssh_options", FAST)
    kwargs.setdefault("ssh_wait", 60.0)
    kwargs.setdefault("apple_silicon", False)
    kwargs.setdefault("poll_interval", 0.2)
    kwargs.setdefault("dhcp_leases", str(prl.dhcp_leases))
    return ParallelsExecutorProvider(prlctl=prl.executable, environ=prl.environ, **kwargs)


def prl_runner(key: KeyPair, **parallels: Any) -> RunnerConfig:
    parallels.setdefault("base_name", GOLDEN)
    ssh = SshConfig(user="root", identity_file=str(key.private_path), disable_strict_host_key_checking=True)
    return runner_config(executor="parallels", ssh=ssh, parallels=ParallelsConfig(**parallels))
