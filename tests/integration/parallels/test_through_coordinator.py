"""`runnerfleet run` with a parallels runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.parallels.conftest import GOLDEN
from tests.integration.ssh.gitjobs import BridgeFleet, fleet
from tests.integration.ssh.sshd import KeyPair
from tests.integration.ssh.targets import vm_disk
from tests.integration.virtualbox.vms import installation, run_job_set_in_vms
from tests.prlsim.harness import PrlSim

pytestmark = pytest.mark.integration
__all__ = ["fleet", "vm_disk"]  # fixtures


def test_the_shell_executors_job_set_passes_in_parallels_vms_with_nothing_left_running(
    fleet: BridgeFleet, vm_disk: str, key: KeyPair, tmp_path: Path
) -> None:
    with installation(PrlSim, tmp_path / "prl") as prl:
        # The lease file is not at Parallels' path here: the executor asks prlctl for the address.
        slot_vm = run_job_set_in_vms(fleet, prl, executor="parallels", golden=GOLDEN, disk=vm_disk,
                                     key=key)
        # The slot's VM is kept stopped for the next job (gitlab-runner's reuse).
        assert sorted(prl.vm_names()) == sorted([GOLDEN, f"{GOLDEN}-template", slot_vm])
        assert prl.state(slot_vm) == "stopped"
