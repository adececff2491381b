"""VM lifecycle edge cases: concurrency, port conflicts, a VM without SSH, crash leftovers, bad config."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from runnerfleet.executors.virtualbox.ports import free_loopback_port
from tests.integration.build.helpers import SHORT_TOKEN, World, payload, run_job, start_job
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.integration.virtualbox.conftest import GOLDEN, make_provider, vbox_runner
from tests.integration.virtualbox.vms import CONFIG_PATH, NO_GIT, cancel_jobs, config_problems
from tests.vboxsim.harness import VBoxSim, machine_value

pytestmark = pytest.mark.integration

HOSTNAME = re.compile(r"^vm:(\w+)$", re.M)


def vm(slot: int) -> str:
    return f"{GOLDEN}-runner-{SHORT_TOKEN}-concurrent-{slot}"


def ssh_rule_port(vbox: VBoxSim, name: str) -> int:
    rule = machine_value(vbox, name, "Forwarding(0)").split(",")
    assert rule[0] == "guestssh"
    return int(rule[3])


def test_two_concurrent_jobs_get_two_vms_with_their_own_ssh_ports(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair, tmp_path: Path
) -> None:
    provider = make_provider(vbox)
    # Each job waits until both VMs run, so the two jobs overlap for certain.
    body = payload(world, ["printf 'vm:%s\\n' \"$(hostname)\"", "sleep 1000"], variables=NO_GIT)
    runs = [start_job(world, body, runner=vbox_runner(key), provider=provider) for _ in range(2)]
    end = time.monotonic() + 90
    while sorted(vbox.running_vm_names()) != [vm(0), vm(1)] and time.monotonic() < end:
        time.sleep(0.2)
    while sum(bool(HOSTNAME.search(run.log)) for run in runs) < 2 and time.monotonic() < end:
        time.sleep(0.1)
    assert sorted(vbox.running_vm_names()) == [vm(0), vm(1)]
    hostnames = {match.group(1) for run in runs if (match := HOSTNAME.search(run.log))}
    assert len(hostnames) == 2
    assert ssh_rule_port(vbox, vm(0)) != ssh_rule_port(vbox, vm(1))
    cancel_jobs(runs, vbox)


def test_a_forwarded_port_another_vm_uses_is_never_reused(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    # The golden VM forwards a port its clones inherit, and another VM forwards one more.
    vbox.run("modifyvm", GOLDEN, "--natpf1", "guestssh,tcp,127.0.0.1,41022,,22")
    vbox.create_golden_vm("other", IMAGE, "exec sleep infinity")
    vbox.run("modifyvm", "other", "--natpf1", "guestssh,tcp,127.0.0.1,41023,,22")
    offered = iter([41022, 41023])
    picked: list[int] = []

    def ports() -> int:
        port = next(offered, 0)
        if not port:
            port = free_loopback_port()
        picked.append(port)
        return port

    result, log = run_job(world, payload(world, ["echo reached"], variables=NO_GIT), runner=vbox_runner(key),
                          provider=make_provider(vbox, port_source=ports))
    assert result.state == "success", log
    port = ssh_rule_port(vbox, vm(0))
    assert port not in (41022, 41023)
    assert picked[:2] == [41022, 41023] and picked[2] == port
    assert f"Using local port {port} for SSH to VM {vm(0)}..." in log
    # The other VMs' rules are untouched.
    assert ssh_rule_port(vbox, GOLDEN) == 41022 and ssh_rule_port(vbox, "other") == 41023


def test_a_vm_that_never_opens_ssh_fails_with_a_clear_timeout_and_is_deleted(
    world: World, vbox: VBoxSim, key: KeyPair
) -> None:
    vbox.create_golden_vm(GOLDEN, IMAGE, "exec sleep infinity")
    provider = make_provider(vbox, ssh_wait=2.0)
    result, log = run_job(world, payload(world, ["echo never"]), runner=vbox_runner(key), provider=provider,
                          preparation_retry_interval=0.1)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    message = result.message or ""
    assert message.startswith(f"VM {vm(0)} did not answer SSH on 127.0.0.1:")
    assert " within 2s: ssh: cannot connect to 127.0.0.1:" in message
    # gitlab-runner retries a failed preparation three times, each with a fresh VM.
    assert log.count("Creating new VM...") == 3
    assert vbox.vm_names() == [GOLDEN]
    assert vbox.containers() == []


def test_vms_left_by_a_crashed_runner_are_cleaned_when_the_provider_starts(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    runner = vbox_runner(key)
    # What a crash leaves: slot 0 mid-preparation (no Started snapshot), slot 1 mid-job (running).
    vbox.run("snapshot", GOLDEN, "take", "Base State")
    for slot in (0, 1):
        vbox.run("clonevm", GOLDEN, "--mode", "machine", "--name", vm(slot), "--register",
                 "--snapshot", "Base State", "--options", "link")
        vbox.run("modifyvm", vm(slot), "--natpf1", f"guestssh,tcp,127.0.0.1,{41030 + slot},,22")
        vbox.run("startvm", vm(slot), "--type", "headless")
    vbox.run("snapshot", vm(1), "take", "Started")
    vbox.create_golden_vm("unrelated-runner-zzzzzzzzz-concurrent-0", IMAGE, "exec sleep infinity")
    vbox.run("startvm", "unrelated-runner-zzzzzzzzz-concurrent-0", "--type", "headless")

    provider = make_provider(vbox)
    provider.acquire(runner)
    assert vm(0) not in vbox.vm_names()
    assert vbox.state(vm(1)) == "poweroff"
    # Another runner's VM is not this runner's business.
    assert vbox.running_vm_names() == ["unrelated-runner-zzzzzzzzz-concurrent-0"]

    result, log = run_job(world, payload(world, ["echo after-crash"], variables=NO_GIT), runner=runner,
                          provider=provider)
    assert result.state == "success", log
    assert "Creating new VM...\x1b[0;m\n" in log


def test_cancel_kills_the_job_inside_the_vm_and_powers_it_off(
    world: World, vbox: VBoxSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ['echo "started"', "sleep 1000"], variables=NO_GIT)
    run = start_job(world, body, runner=vbox_runner(key), provider=make_provider(vbox))
    end = time.monotonic() + 90
    while "started\n" not in run.log and time.monotonic() < end:
        time.sleep(0.1)
    run.build.cancel(graceful=True)
    result = run.wait()
    assert result.state == "canceled"
    assert vbox.state(vm(0)) == "poweroff"
    assert vbox.containers(running_only=True) == []


@pytest.mark.parametrize(("table", "expected"), [
    ('[runners.ssh]\nport = ["22"]\n', "runners[0].ssh.port: expected"),
    ("[runners.ssh]\ndisable_strict_host_key_checking = \"yes\"\n",
     'runners[0].ssh.disable_strict_host_key_checking: expected true or false, got "yes"'),
    ("[runners.virtualbox]\nbase_name = 5\n", "runners[0].virtualbox.base_name: expected a string, got 5"),
    ('[runners.virtualbox]\nallowed_images = "debian"\n', "runners[0].virtualbox.allowed_images: expected"),
    ('[runners.virtualbox]\ndisable_snapshots = "no"\n',
     'runners[0].virtualbox.disable_snapshots: expected true or false, got "no"'),
])
def test_malformed_ssh_and_virtualbox_keys_are_reported_with_their_path(table: str, expected: str) -> None:
    problems = config_problems("virtualbox", table)
    assert any(p.startswith(f"{CONFIG_PATH}: {expected}") for p in problems), problems


@pytest.mark.parametrize(("virtualbox", "ssh_port", "expected"), [
    ({"start_type": "fullscreen"}, "",
     'runners.virtualbox.start_type: "fullscreen" is not one of headless, gui, separate, sdl'),
    ({"base_name": ""}, "", "runners.virtualbox.base_name: missing BaseName setting from VirtualBox "
                            "configuration (the VM to clone)"),
    ({"allowed_images": ["debian-("]}, "",
     "runners.virtualbox.allowed_images: invalid regexp pattern in allowed_images parameter: debian-( ("),
    ({}, "twenty-two", 'runners.ssh.port: "twenty-two" is not a port number (1-65535)'),
])
def test_unusable_values_fail_the_job_as_configuration_errors_naming_the_key(
    world: World, vbox: VBoxSim, key: KeyPair, virtualbox: dict[str, object], ssh_port: str, expected: str
) -> None:
    runner = vbox_runner(key, **virtualbox)
    assert runner.ssh is not None
    runner.ssh.port = ssh_port
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=make_provider(vbox))
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error")
    assert (result.message or "").startswith(expected)
    assert vbox.vm_names() == []
