"""Jobs in (simulated) Parallels VMs: template, VM from it, DHCP lease address, snapshots, cleanup, config."""

from __future__ import annotations

import re
import time

import pytest

from runnerfleet.config import ConfigFile
from tests.integration.build.helpers import SHORT_TOKEN, World, payload, run_job, start_job
from tests.integration.parallels.conftest import GOLDEN, make_provider, prl_runner
from tests.integration.ssh.sshd import IMAGE, KeyPair
from tests.integration.virtualbox.vms import (
    CONFIG_PATH,
    NO_GIT,
    assert_nothing_runs,
    boot_script,
    cancel_jobs,
    config_problems,
    second_job_of_a_slot,
)
from tests.prlsim.harness import PrlSim

pytestmark = pytest.mark.integration

VM0 = f"{GOLDEN}-runner-{SHORT_TOKEN}-concurrent-0"
TEMPLATE = f"{GOLDEN}-template"
ADDRESS = re.compile(r"^vm:([\d.]+)$", re.M)


def test_job_runs_in_a_vm_created_from_a_linked_template_and_reached_by_its_dhcp_lease(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ['echo "in vm: $(id -un) $CI_BUILDS_DIR $CI_DISPOSABLE_ENVIRONMENT"',
                           "hostname -I"], variables=NO_GIT)
    result, log = run_job(world, body, runner=prl_runner(key), provider=make_provider(prl))
    assert result.state == "success", log
    assert "Using Parallels 19.4.1 executor...\x1b[0;m\n" in log
    assert "Creating new VM...\x1b[0;m\n" in log
    assert "Creating default snapshot...\x1b[0;m\n" in log
    assert "Waiting for VM to become responsive...\x1b[0;m\n" in log
    # The Debian guest has neither ntpdate nor sntp: gitlab-runner's warning, and the job goes on.
    assert "Neither sntp nor ntpdate are available in a guest VM. Proceeding without time" in log
    assert "in vm: root /root/builds true\n" in log
    # The address SSH used is the one Parallels' DHCP server leased to the VM's MAC.
    leased = prl.dhcp_leases.read_text().splitlines()[-1].split("=", 1)[0]
    assert f"\n{leased} \n" in log or f"\n{leased}\n" in log
    # The template stays for the next VM; the job's VM is kept, stopped, with its Started snapshot.
    assert sorted(prl.vm_names()) == sorted([GOLDEN, VM0, TEMPLATE])
    assert prl.state(VM0) == "stopped"
    assert_nothing_runs(prl)


def test_the_next_job_of_the_slot_switches_back_to_the_started_snapshot(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    log = second_job_of_a_slot(world, prl, prl_runner(key), make_provider(prl))
    assert "Starting VM...\x1b[0;m\n" in log


def test_disabled_snapshots_give_a_project_named_vm_that_is_deleted_after_the_job(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    # A VM of that name left by an earlier job: gitlab-runner's name for it is the project's,
    # <base>-runner-<token>-project-<id>-concurrent-<id>, and it is replaced.
    stale = f"{GOLDEN}-runner-{SHORT_TOKEN}-project-7-concurrent-0"
    prl.run("clone", GOLDEN, "--name", stale)
    body = payload(world, ["echo disposable"], variables=NO_GIT)
    result, log = run_job(world, body, runner=prl_runner(key, disable_snapshots=True),
                          provider=make_provider(prl), concurrent_project_id=0)
    assert result.state == "success", log
    assert "Deleting old VM...\x1b[0;m\n" in log
    assert "Creating default snapshot" not in log
    assert "disposable\n" in log
    assert sorted(prl.vm_names()) == sorted([GOLDEN, TEMPLATE])
    assert prl.containers() == []


def test_a_guest_with_ntpdate_gets_its_clock_set_from_the_configured_time_server(
    world: World, prl: PrlSim, key: KeyPair
) -> None:
    # The golden VM has an `ntpdate` that records how it was called.
    fake_ntpdate = "printf '#!/bin/sh\\necho \"$@\" > /root/ntpdate-args\\n' > /usr/local/bin/ntpdate " \
                   "&& chmod +x /usr/local/bin/ntpdate"
    prl.create_golden_vm(GOLDEN, IMAGE, f"{fake_ntpdate} && {boot_script(key)}")
    body = payload(world, ["cat /root/ntpdate-args"], variables=NO_GIT)
    result, log = run_job(world, body, runner=prl_runner(key, time_server="ntp.example.test"),
                          provider=make_provider(prl))
    assert result.state == "success", log
    assert "-u ntp.example.test\n" in log
    assert "Neither sntp nor ntpdate" not in log


def test_apple_silicon_asks_prlctl_for_the_address_and_deletes_the_vm_after_the_job(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ["echo on-arm"], variables=NO_GIT)
    result, log = run_job(world, body, runner=prl_runner(key),
                          provider=make_provider(prl, apple_silicon=True, dhcp_leases="/nonexistent"))
    assert result.state == "success", log
    assert "on-arm\n" in log
    assert "Creating default snapshot" not in log
    assert sorted(prl.vm_names()) == sorted([GOLDEN, TEMPLATE])
    assert prl.containers() == []


def test_an_image_outside_allowed_images_fails_before_any_vm_is_made(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    body = payload(world, ["echo never"], variables=NO_GIT, image={"name": "windows-11"})
    result, log = run_job(world, body, runner=prl_runner(key, allowed_images=["^macos-"]),
                          provider=make_provider(prl))
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error"), log
    assert 'The "windows-11" image is not present on list of allowed images' in log
    assert sorted(prl.vm_names()) == [GOLDEN]


def test_missing_base_name_is_a_configuration_error_naming_the_key(
    world: World, prl: PrlSim, key: KeyPair
) -> None:
    body = payload(world, ["echo never"], variables=NO_GIT)
    result, log = run_job(world, body, runner=prl_runner(key, base_name=""), provider=make_provider(prl))
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error"), log
    assert "runners.parallels.base_name: missing BaseName setting from Parallels configuration" in log


@pytest.mark.parametrize(("table", "expected"), [
    ("[runners.parallels]\nbase_name = 5\n", "runners[0].parallels.base_name: expected a string, got 5"),
    ('[runners.parallels]\nallowed_images = "macos"\n', "runners[0].parallels.allowed_images: expected"),
    ('[runners.parallels]\ndisable_snapshots = "no"\n',
     'runners[0].parallels.disable_snapshots: expected true or false, got "no"'),
    ("[runners.parallels]\ntime_server = [1]\n", "runners[0].parallels.time_server: expected a string"),
])
def test_malformed_parallels_keys_are_reported_with_their_path(table: str, expected: str) -> None:
    problems = config_problems("parallels", table)
    assert any(p.startswith(f"{CONFIG_PATH}: {expected}") for p in problems), problems


def test_a_parallels_table_is_read_with_gitlab_runners_keys() -> None:
    text = ('[[runners]]\nname = "vm"\nurl = "http://127.0.0.1:1"\ntoken = "glrt-abc"\n'
            'executor = "parallels"\n[runners.parallels]\nbase_name = "macos-14"\n'
            'template_name = "macos-14-tpl"\n'
            'disable_snapshots = true\ntime_server = "ntp.example.test"\nallowed_images = ["^macos-"]\n')
    config = ConfigFile.from_text(text, path=CONFIG_PATH).config.runners[0].parallels
    assert config is not None
    assert (config.base_name, config.template_name, config.disable_snapshots, config.time_server,
            config.allowed_images) == ("macos-14", "macos-14-tpl", True, "ntp.example.test", ["^macos-"])


def test_two_concurrent_jobs_get_two_vms_from_one_template_with_their_own_addresses(
    world: World, prl: PrlSim, golden: str, key: KeyPair
) -> None:
    provider = make_provider(prl)
    body = payload(world, ["printf 'vm:%s\\n' \"$(hostname -I | cut -d' ' -f1)\"", "sleep 1000"],
                   variables=NO_GIT)
    runs = [start_job(world, body, runner=prl_runner(key), provider=provider) for _ in range(2)]
    vms = sorted([VM0, f"{GOLDEN}-runner-{SHORT_TOKEN}-concurrent-1"])
    # Each job sleeps until canceled, so the two jobs overlap for certain once both printed.
    end = time.monotonic() + 120
    while sum(bool(ADDRESS.search(run.log)) for run in runs) < 2 and time.monotonic() < end:
        time.sleep(0.2)
    assert sorted(prl.running_vm_names()) == vms
    addresses = {match.group(1) for run in runs if (match := ADDRESS.search(run.log))}
    assert len(addresses) == 2
    assert sorted(prl.vm_names()) == sorted([GOLDEN, TEMPLATE, *vms])
    cancel_jobs(runs, prl)
