"""`runnerfleet run` with a virtualbox runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.ssh.gitjobs import BridgeFleet, fleet
from tests.integration.ssh.sshd import KeyPair
from tests.integration.ssh.targets import vm_disk
from tests.integration.virtualbox.conftest import GOLDEN
from tests.integration.virtualbox.vms import installation, run_job_set_in_vms
from tests.vboxsim.harness import VBoxSim

pytestmark = pytest.mark.integration
__all__ = ["fleet", "vm_disk"]  # fixtures


def test_the_shell_executors_job_set_passes_in_virtualbox_vms_with_nothing_left_running(
    fleet: BridgeFleet, vm_disk: str, key: KeyPair, tmp_path: Path
) -> None:
    with installation(VBoxSim, tmp_path / "vbox") as vbox:
        slot_vm = run_job_set_in_vms(fleet, vbox, executor="virtualbox", golden=GOLDEN, disk=vm_disk,
                                     key=key)
        # The slot's VM is kept powered off for the next job (gitlab-runner's reuse).
        assert sorted(vbox.vm_names()) == sorted([GOLDEN, slot_vm])
        assert vbox.state(slot_vm) == "poweroff"
