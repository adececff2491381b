"""`runnerfleet run` with a virtualbox runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.tokens import shorten_token
from tests.integration.ssh.gitjobs import BridgeFleet, fleet, run_vm_job_set
from tests.integration.ssh.sshd import KeyPair
from tests.integration.ssh.targets import vm_disk
from tests.integration.virtualbox.conftest import GOLDEN, boot_script
from tests.vboxsim.harness import EXECUTABLE, VBoxSim

pytestmark = pytest.mark.integration
__all__ = ["fleet", "vm_disk"]  # fixtures


def test_the_shell_executors_job_set_passes_in_virtualbox_vms_with_nothing_left_running(
    fleet: BridgeFleet, vm_disk: str, key: KeyPair, tmp_path: Path
) -> None:
    vbox = VBoxSim(tmp_path / "vbox")
    try:
        vbox.create_golden_vm(GOLDEN, vm_disk, boot_script(key))
        token = run_vm_job_set(fleet, executor="virtualbox", section={"base_name": GOLDEN},
                               simulator=EXECUTABLE, simulator_env={"VBOXSIM_HOME": str(vbox.home)},
                               identity_file=key.private_path, processes=vbox.guest_processes)
        # The slot's VM is kept powered off for the next job (gitlab-runner's reuse); nothing runs.
        slot_vm = f"{GOLDEN}-runner-{shorten_token(token)}-concurrent-0"
        assert sorted(vbox.vm_names()) == sorted([GOLDEN, slot_vm])
        assert vbox.state(slot_vm) == "poweroff"
        assert vbox.running_vm_names() == []
        assert vbox.containers(running_only=True) == []
        assert fleet.world.journal_records == []
    finally:
        vbox.destroy()
