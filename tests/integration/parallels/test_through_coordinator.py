"""`runnerfleet run` with a parallels runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from runnerfleet.tokens import shorten_token
from tests.integration.parallels.conftest import GOLDEN
from tests.integration.ssh.gitjobs import BridgeFleet, fleet, run_vm_job_set
from tests.integration.ssh.sshd import KeyPair
from tests.integration.ssh.targets import vm_disk
from tests.integration.virtualbox.conftest import boot_script
from tests.prlsim.harness import EXECUTABLE, PrlSim

pytestmark = pytest.mark.integration
__all__ = ["fleet", "vm_disk"]  # fixtures


def test_the_shell_executors_job_set_passes_in_parallels_vms_with_nothing_left_running(
    fleet: BridgeFleet, vm_disk: str, key: KeyPair, tmp_path: Path
) -> None:
    prl = PrlSim(tmp_path / "prl")
    try:
        prl.create_golden_vm(GOLDEN, vm_disk, boot_script(key))
        # The lease file is not at Parallels' path here: the executor asks prlctl for the address.
        token = run_vm_job_set(fleet, executor="parallels", section={"base_name": GOLDEN},
                               simulator=EXECUTABLE, simulator_env={"PRLSIM_HOME": str(prl.home)},
                               identity_file=key.private_path, processes=prl.guest_processes)
        # The slot's VM is kept stopped for the next job (gitlab-runner's reuse); nothing runs.
        slot_vm = f"{GOLDEN}-runner-{shorten_token(token)}-concurrent-0"
        assert sorted(prl.vm_names()) == sorted([GOLDEN, f"{GOLDEN}-template", slot_vm])
        assert prl.state(slot_vm) == "stopped"
        assert prl.running_vm_names() == []
        assert prl.containers(running_only=True) == []
        assert fleet.world.journal_records == []
    finally:
        prl.destroy()
