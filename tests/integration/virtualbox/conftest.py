"""Fixtures for VirtualBox executor tests: a simulated VirtualBox with a golden VM, a provider, a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.config import RunnerConfig, SshConfig, VirtualBoxConfig
from runnerfleet.executors.ssh import SshOptions
from runnerfleet.executors.virtualbox import VirtualBoxExecutorProvider
from tests.integration.build.helpers import runner_config
from tests.integration.ssh.conftest import key, test_image, world
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.vboxsim.harness import VBoxSim

GOLDEN = "debian-golden"
FAST = SshOptions(connect_retries=1, retry_interval=0.2, connect_timeout=10)
__all__ = ["key", "test_image", "world"]  # fixtures shared with the ssh tests


def boot_script(key: KeyPair) -> str:
    """The golden VM's boot: root accepts the test key, sshd serves the guest's port 22."""
    return " && ".join([
        "mkdir -p /run/sshd -m 755",
        "mkdir -p -m 700 /root/.ssh",
        f"echo '{key.public_line}' > /root/.ssh/authorized_keys",
        "exec /usr/sbin/sshd -D -e",
    ])


@pytest.fixture
def vbox(test_image: None, tmp_path: Path) -> Iterator[VBoxSim]:
    sim = VBoxSim(tmp_path / "vbox")
    try:
        yield sim
    finally:
        sim.destroy()


@pytest.fixture
def golden(vbox: VBoxSim, key: KeyPair) -> str:
    vbox.create_golden_vm(GOLDEN, IMAGE, boot_script(key))
    return GOLDEN


def make_provider(vbox: VBoxSim, **kwargs: Any) -> VirtualBoxExecutorProvider:
    kwargs.setdefault("ssh_options", FAST)
    kwargs.setdefault("ssh_wait", 60.0)
    return VirtualBoxExecutorProvider(vboxmanage=vbox.executable, environ=vbox.environ, **kwargs)


def vbox_runner(key: KeyPair, **virtualbox: Any) -> RunnerConfig:
    virtualbox.setdefault("base_name", GOLDEN)
    ssh = SshConfig(user="root", identity_file=str(key.private_path), disable_strict_host_key_checking=True)
    return runner_config(executor="virtualbox", ssh=ssh, virtualbox=VirtualBoxConfig(**virtualbox))
