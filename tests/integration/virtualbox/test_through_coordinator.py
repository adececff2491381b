"""`runnerfleet run` with a virtualbox runner: the shell executor's job set in simulated VMs, real git."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runnerfleet.tokens import shorten_token
from tests.integration.ssh.gitjobs import BridgeFleet, RemoteSide, fleet, run_job_set, s3_on_bridge
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
        # The service finds VBoxManage on its PATH, as on a VirtualBox host.
        fleet.world.env["PATH"] = f"{EXECUTABLE.parent}{os.pathsep}{fleet.world.env['PATH']}"
        fleet.world.env["VBOXSIM_HOME"] = str(vbox.home)
        token = fleet.create_runner("vm")
        with s3_on_bridge() as s3:
            # A VM is restored from its snapshot for every job: only a distributed cache survives.
            fleet.write_config(
                {"name": "vm", "token": token, "executor": "virtualbox",
                 "ssh": {"user": "root", "identity_file": str(key.private_path),
                         "disable_strict_host_key_checking": True},
                 "virtualbox": {"base_name": GOLDEN},
                 "cache": s3.cache_table},
                {"name": "local", "token": fleet.create_runner("local"), "executor": "shell"},
            )
            run_job_set(fleet, RemoteSide("vm", keeps_checkout=False, processes=vbox.guest_processes,
                                          timeout=60))
        # The slot's VM is kept powered off for the next job (gitlab-runner's reuse); nothing runs.
        slot_vm = f"{GOLDEN}-runner-{shorten_token(token)}-concurrent-0"
        assert sorted(vbox.vm_names()) == sorted([GOLDEN, slot_vm])
        assert vbox.state(slot_vm) == "poweroff"
        assert vbox.running_vm_names() == []
        assert vbox.containers(running_only=True) == []
        assert fleet.world.journal_records == []
    finally:
        vbox.destroy()
