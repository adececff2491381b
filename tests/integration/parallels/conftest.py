"""Fixtures for Parallels executor tests: a simulated Parallels Desktop, a golden VM, a provider, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.config import RunnerConfig
from runnerfleet.config.schema import ParallelsConfig
from runnerfleet.executors.parallels import ParallelsExecutorProvider
from tests.integration.ssh.conftest import key, test_image, world
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.integration.virtualbox.vms import boot_script, installation, provider_options, vm_runner
from tests.prlsim.harness import PrlSim

GOLDEN = "macos-golden"
__all__ = ["key", "test_image", "world"]  # fixtures shared with the ssh tests


@pytest.fixture
def prl(test_image: None, tmp_path: Path) -> Iterator[PrlSim]:
    with installation(PrlSim, tmp_path / "prl") as sim:
        yield sim


@pytest.fixture
def golden(prl: PrlSim, key: KeyPair) -> str:
    prl.create_golden_vm(GOLDEN, IMAGE, boot_script(key))
    return GOLDEN


def make_provider(prl: PrlSim, **kwargs: Any) -> ParallelsExecutorProvider:
    kwargs.setdefault("apple_silicon", False)
    kwargs.setdefault("poll_interval", 0.2)
    kwargs.setdefault("dhcp_leases", str(prl.dhcp_leases))
    return ParallelsExecutorProvider(prlctl=prl.executable, environ=prl.environ,
                                     **provider_options(kwargs))


def prl_runner(key: KeyPair, **parallels: Any) -> RunnerConfig:
    parallels.setdefault("base_name", GOLDEN)
    return vm_runner("parallels", ParallelsConfig(**parallels), key)
