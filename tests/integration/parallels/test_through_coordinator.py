"""`runnerfleet run` with a parallels runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runnerfleet.tokens import shorten_token
from tests.integration.parallels.conftest import GOLDEN
from tests.integration.ssh.gitjobs import BridgeFleet, RemoteSide, fleet, run_job_set, s3_on_bridge
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
        # The service finds prlctl on its PATH, as on a Mac with Parallels Desktop. The lease file
        # is not at Parallels' path here: the executor asks prlctl for the address instead.
        fleet.world.env["PATH"] = f"{EXECUTABLE.parent}{os.pathsep}{fleet.world.env['PATH']}"
        fleet.world.env["PRLSIM_HOME"] = str(prl.home)
        token = fleet.create_runner("vm")
        with s3_on_bridge() as s3:
            # Parallels executors have no local cache between jobs (gitlab-runner's docs): S3.
            fleet.write_config(
                {"name": "vm", "token": token, "executor": "parallels",
                 "ssh": {"user": "root", "identity_file": str(key.private_path),
                         "disable_strict_host_key_checking": True},
                 "parallels": {"base_name": GOLDEN},
                 "cache": s3.cache_table},
                {"name": "local", "token": fleet.create_runner("local"), "executor": "shell"},
            )
            run_job_set(fleet, RemoteSide("vm", keeps_checkout=False, processes=prl.guest_processes,
                                          timeout=60))
        # The slot's VM is kept stopped for the next job (gitlab-runner's reuse); nothing runs.
        slot_vm = f"{GOLDEN}-runner-{shorten_token(token)}-concurrent-0"
        assert sorted(prl.vm_names()) == sorted([GOLDEN, f"{GOLDEN}-template", slot_vm])
        assert prl.state(slot_vm) == "stopped"
        assert prl.running_vm_names() == []
        assert prl.containers(running_only=True) == []
        assert fleet.world.journal_records == []
    finally:
        prl.destroy()
