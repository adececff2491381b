"""Fixtures for VirtualBox executor tests: a simulated VirtualBox with a golden VM, a provider, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.config import RunnerConfig, VirtualBoxConfig
from runnerfleet.executors.virtualbox import VirtualBoxExecutorProvider
from tests.integration.ssh.conftest import key, test_image, world
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.integration.virtualbox.vms import boot_script, installation, provider_options, vm_runner
from tests.vboxsim.harness import VBoxSim

GOLDEN = "debian-golden"
__all__ = ["key", "test_image", "world"]  # fixtures shared with the ssh tests


@pytest.fixture
def vbox(test_image: None, tmp_path: Path) -> Iterator[VBoxSim]:
    with installation(VBoxSim, tmp_path / "vbox") as sim:
        yield sim


@pytest.fixture
def golden(vbox: VBoxSim, key: KeyPair) -> str:
    vbox.create_golden_vm(GOLDEN, IMAGE, boot_script(key))
    return GOLDEN


def make_provider(vbox: VBoxSim, **kwargs: Any) -> VirtualBoxExecutorProvider:
    return VirtualBoxExecutorProvider(vboxmanage=vbox.executable, environ=vbox.environ,
                                      **provider_options(kwargs))


def vbox_runner(key: KeyPair, **virtualbox: Any) -> RunnerConfig:
    virtualbox.setdefault("base_name", GOLDEN)
    return vm_runner("virtualbox", VirtualBoxConfig(**virtualbox), key)
