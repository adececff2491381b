"""The simulator answers like VBoxManage: output formats and exit codes as VirtualBox documents them.

Formats checked (VirtualBox manual, VBoxManage list/showvminfo/snapshot/modifyvm, and its sources):
`list vms` prints `"<name>" {<uuid>}`; `showvminfo --machinereadable` prints `key="value"` lines
with `VMState` and `Forwarding(N)="name,proto,hostip,hostport,guestip,guestport"`; the human
form prints `NIC 1 Rule(N):   name = ..., protocol = ..., host ip = ..., host port = ..., guest
ip = ..., guest port = ...`; `snapshot list --machinereadable` numbers nested snapshots
`SnapshotName-1` and marks the current one; errors are `VBoxManage: error: ...` with status 1,
usage errors status 2.
"""

from __future__ import annotations

import re

import pytest

from tests.vboxsim.harness import VBoxSim

pytestmark = pytest.mark.integration

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def sim(vbox: VBoxSim) -> VBoxSim:
    vbox.run("createvm", "--name", "base vm", "--ostype", "Debian_64", "--register")
    return vbox


def test_version_and_list_vms_formats(sim: VBoxSim) -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+r\d+\n", sim.run("--version").stdout)
    assert re.fullmatch(rf'"base vm" \{{{UUID}\}}\n', sim.run("list", "vms").stdout)
    assert sim.run("list", "runningvms").stdout == ""
    assert re.search(r"^Default machine folder: +/.+$", sim.run("list", "systemproperties").stdout, re.M)


def test_nat_rules_in_both_showvminfo_forms(sim: VBoxSim) -> None:
    sim.run("modifyvm", "base vm", "--natpf1", "guestssh,tcp,127.0.0.1,40022,,22")
    machine = sim.run("showvminfo", "base vm", "--machinereadable").stdout
    assert 'VMState="poweroff"\n' in machine
    assert 'Forwarding(0)="guestssh,tcp,127.0.0.1,40022,,22"\n' in machine
    assert 'name="base vm"\n' in machine
    human = sim.run("showvminfo", "base vm").stdout
    assert ("NIC 1 Rule(0):   name = guestssh, protocol = tcp, host ip = 127.0.0.1, host port = 40022, "
            "guest ip = , guest port = 22\n") in human
    assert re.search(r"^State: +powered off \(since \d{4}-\d\d-\d\dT[\d:.]+Z\)$", human, re.M)
    # `list vms -l` shows every VM's rules the same way (gitlab-runner collects used ports there).
    assert "host port = 40022" in sim.run("list", "vms", "-l").stdout


def test_duplicate_nat_rules_are_refused_like_virtualbox(sim: VBoxSim) -> None:
    sim.run("modifyvm", "base vm", "--natpf1", "guestssh,tcp,127.0.0.1,40022,,22")
    same_name = sim.run("modifyvm", "base vm", "--natpf1", "guestssh,tcp,127.0.0.1,40023,,22", check=False)
    assert same_name.returncode == 1
    assert same_name.stderr.startswith("VBoxManage: error: A NAT rule of this name already exists\n")
    same_port = sim.run("modifyvm", "base vm", "--natpf1", "other,tcp,127.0.0.1,40022,,22", check=False)
    assert same_port.stderr.startswith(
        "VBoxManage: error: A NAT rule for this host port and this host IP already exists\n")
    sim.run("modifyvm", "base vm", "--natpf1", "delete guestssh")
    assert "Forwarding(" not in sim.run("showvminfo", "base vm", "--machinereadable").stdout


def test_snapshot_listing_numbers_children_and_marks_the_current_one(sim: VBoxSim) -> None:
    empty = sim.run("snapshot", "base vm", "list", "--machinereadable", check=False)
    assert (empty.returncode, empty.stdout) == (1, "This machine does not have any snapshots\n")
    sim.run("snapshot", "base vm", "take", "Base State")
    sim.run("snapshot", "base vm", "take", "child")
    listing = sim.run("snapshot", "base vm", "list", "--machinereadable").stdout
    assert re.fullmatch(
        rf'SnapshotName="Base State"\nSnapshotUUID="{UUID}"\n'
        rf'SnapshotName-1="child"\nSnapshotUUID-1="{UUID}"\n'
        rf'CurrentSnapshotName="child"\nCurrentSnapshotUUID="{UUID}"\nCurrentSnapshotNode="SnapshotName-1"\n',
        listing)


def test_errors_have_virtualbox_text_and_exit_status(sim: VBoxSim) -> None:
    missing = sim.run("showvminfo", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.splitlines()[0] == (
        "VBoxManage: error: Could not find a registered machine named 'nope'")
    assert missing.stderr.splitlines()[1].startswith(
        "VBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)")
    not_running = sim.run("controlvm", "base vm", "poweroff", check=False)
    assert (not_running.returncode, not_running.stderr) == (
        1, "VBoxManage: error: Machine 'base vm' is not currently running.\n")
    assert sim.run("snapshot", "base vm", check=False).returncode == 2
    assert sim.run("frobnicate", check=False).returncode == 2
    duplicate = sim.run("createvm", "--name", "base vm", "--register", check=False)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr.splitlines()[0]


def test_a_running_vm_refuses_changes_and_a_second_start(sim: VBoxSim) -> None:
    sim.run("setextradata", "base vm", "vboxsim/image", "runnerfleet-test/debian-systemd:bookworm")
    sim.run("setextradata", "base vm", "vboxsim/boot", "exec sleep infinity")
    started = sim.run("startvm", "base vm", "--type", "headless").stdout
    assert started == 'Waiting for VM "base vm" to power on...\nVM "base vm" has been successfully started.\n'
    assert 'VMState="running"' in sim.run("showvminfo", "base vm", "--machinereadable").stdout
    again = sim.run("startvm", "base vm", "--type", "headless", check=False)
    assert again.returncode == 1 and "is already locked by a session" in again.stderr
    locked = sim.run("modifyvm", "base vm", "--natpf1", "x,tcp,127.0.0.1,40024,,22", check=False)
    assert locked.returncode == 1 and "is already locked for a session" in locked.stderr
    sim.run("snapshot", "base vm", "take", "s1")
    refused = sim.run("snapshot", "base vm", "restorecurrent", check=False)
    assert refused.returncode == 1
    assert "Cannot delete the current state of the running machine" in refused.stderr
    sim.run("controlvm", "base vm", "poweroff")
    assert sim.run("list", "runningvms").stdout == ""
    assert sim.containers(running_only=True) == []
