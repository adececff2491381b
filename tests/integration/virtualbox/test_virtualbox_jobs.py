"""Jobs in (simulated) VirtualBox VMs: clone, start, SSH, reuse through snapshots, cleanup."""

from __future__ import annotations

import pytest

from tests.integration.build.helpers import SHORT_TOKEN, World, payload, run_job
from tests.integration.ssh.sshd import KeyPair
from tests.integration.virtualbox.conftest import GOLDEN, make_provider, vbox_runner
from tests.integration.virtualbox.vms import NO_GIT, assert_nothing_runs, second_job_of_a_slot
from tests.vboxsim.harness import VBoxSim, exec_in_vm

pytestmark = pytest.mark.integration

VM0 = f"{GOLDEN}-runner-{SHORT_TOKEN}-concurrent-0"


def test_job_runs_in_a_linked_clone_started_headless_and_the_vm_is_kept_powered_off(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ['echo "in vm: $(id -un) $CI_BUILDS_DIR $CI_DISPOSABLE_ENVIRONMENT"'],
                   variables=NO_GIT)
    result, log = run_job(world, body, runner=vbox_runner(key), provider=make_provider(vbox))
    assert result.state == "success", log
    assert "Using VirtualBox version 7.0.14r161095 executor...\x1b[0;m\n" in log
    assert "Creating new VM...\x1b[0;m\n" in log
    assert "Creating default snapshot...\x1b[0;m\n" in log
    assert "in vm: root /root/builds true\n" in log
    # The base got the snapshot clones link to; the clone is kept for the next job, powered off.
    assert 'SnapshotName="Base State"' in vbox.run("snapshot", GOLDEN, "list", "--machinereadable").stdout
    assert sorted(vbox.vm_names()) == [GOLDEN, VM0]
    assert vbox.state(VM0) == "poweroff"
    assert_nothing_runs(vbox)


def test_clone_comes_from_the_configured_base_snapshot_not_the_current_state(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    # The golden VM gets a marker, a snapshot "ready", then a change after that snapshot.
    vbox.run("startvm", GOLDEN, "--type", "headless")
    exec_in_vm(vbox, GOLDEN, "echo snapshot-content > /etc/rf-marker")
    vbox.run("snapshot", GOLDEN, "take", "ready")
    exec_in_vm(vbox, GOLDEN, "echo after-snapshot > /etc/rf-marker")
    vbox.run("controlvm", GOLDEN, "poweroff")

    body = payload(world, ["cat /etc/rf-marker"], variables=NO_GIT)
    result, log = run_job(world, body, runner=vbox_runner(key, base_snapshot="ready"),
                          provider=make_provider(vbox))
    assert result.state == "success", log
    assert "snapshot-content\n" in log and "after-snapshot\n" not in log


def test_the_next_job_of_a_slot_reuses_the_vm_restored_to_its_started_snapshot(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    second_job_of_a_slot(world, vbox, vbox_runner(key), make_provider(vbox))
    assert sorted(vbox.vm_names()) == [GOLDEN, VM0]


def test_disabled_snapshots_give_each_job_a_full_clone_that_is_deleted_afterwards(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ["echo disposable"], variables=NO_GIT)
    result, log = run_job(world, body, runner=vbox_runner(key, disable_snapshots=True),
                          provider=make_provider(vbox))
    assert result.state == "success", log
    assert "Creating default snapshot" not in log
    # The base has no snapshot, so the clone was a full one and no snapshot was added to the base.
    assert vbox.run("snapshot", GOLDEN, "list", check=False).returncode == 1
    assert vbox.vm_names() == [GOLDEN]
    assert vbox.containers() == []
