"""What the VirtualBox and Parallels tests share: the golden VM's boot, one simulated installation
per test, a VM runner's config and provider defaults, and the steps both run (the job set through
the coordinator, a slot's second job, canceling jobs, config.toml problems)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runnerfleet.config import ConfigFile, RunnerConfig, SshConfig
from runnerfleet.errors import ConfigError
from runnerfleet.executors.ssh import SshOptions
from runnerfleet.tokens import shorten_token
from tests.integration.build.helpers import JobRun, World, payload, run_job, runner_config
from tests.integration.ssh.gitjobs import BridgeFleet, run_vm_job_set
from tests.integration.ssh.sshd import KeyPair
from tests.vboxsim.harness import VBoxSim

FAST = SshOptions(connect_retries=1, retry_interval=0.2, connect_timeout=10)
NO_GIT = [{"key": "GIT_STRATEGY", "value": "none"}]
CONFIG_PATH = "/etc/runnerfleet/config.toml"
Sim = TypeVar("Sim", bound=VBoxSim)


def boot_script(key: KeyPair) -> str:
    """The golden VM's boot: root accepts the test key, sshd serves the guest's port 22."""
    return " && ".join([
        "mkdir -p /run/sshd -m 755",
        "mkdir -p -m 700 /root/.ssh",
        f"echo '{key.public_line}' > /root/.ssh/authorized_keys",
        "exec /usr/sbin/sshd -D -e",
    ])


@contextmanager
def installation(kind: type[Sim], home: Path) -> Iterator[Sim]:
    """A simulated installation in `home`; every container and image it made is removed after."""
    sim = kind(home)
    try:
        yield sim
    finally:
        sim.destroy()


def provider_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A VM provider's keyword arguments with the tests' quick SSH settings as defaults."""
    return {"ssh_options": FAST, "ssh_wait": 60.0, **kwargs}


def vm_runner(executor: str, section: Any, key: KeyPair) -> RunnerConfig:
    """A runner of `executor` (its `[runners.<executor>]` table `section`) that logs in as root
    with the test key."""
    ssh = SshConfig(user="root", identity_file=str(key.private_path), disable_strict_host_key_checking=True)
    return runner_config(executor=executor, ssh=ssh, **{executor: section})


def run_job_set_in_vms(fleet: BridgeFleet, sim: VBoxSim, *, executor: str, golden: str, disk: str,
                       key: KeyPair) -> str:
    """`runnerfleet run` of the shell executor's job set in VMs cloned from a golden VM on `disk`;
    the name of the slot's VM, after checking that nothing runs any more."""
    sim.create_golden_vm(golden, disk, boot_script(key))
    token = run_vm_job_set(fleet, executor=executor, section={"base_name": golden},
                           simulator=sim.program, simulator_env=sim.home_environ,
                           identity_file=key.private_path, processes=sim.guest_processes)
    assert_nothing_runs(sim)
    assert fleet.world.journal_records == [], fleet.world.journal_records
    return f"{golden}-runner-{shorten_token(token)}-concurrent-0"


def second_job_of_a_slot(world: World, sim: VBoxSim, runner: RunnerConfig, provider: Any) -> str:
    """Two jobs of one slot, the first leaving a file behind in its VM: the second job's log,
    after checking it succeeded in a VM without that file (reverted, not new) and nothing runs."""
    first = payload(world, ["touch /root/left-by-job-1", "echo first-done"], variables=NO_GIT)
    result, log = run_job(world, first, runner=runner, provider=provider)
    assert result.state == "success", log

    second = payload(world, ['test -e /root/left-by-job-1 && echo "dirty VM" || echo "clean VM"'],
                     variables=NO_GIT)
    result, log = run_job(world, second, runner=runner, provider=provider)
    assert result.state == "success", log
    assert "Restoring VM from snapshot...\x1b[0;m\n" in log
    assert "Creating new VM..." not in log
    assert "clean VM\n" in log
    containers = sim.containers(running_only=True)
    assert containers == [], containers
    return log


def assert_nothing_runs(sim: VBoxSim) -> None:
    """No VM of the installation is running, and no guest (container) either."""
    running, containers = sim.running_vm_names(), sim.containers(running_only=True)
    assert (running, containers) == ([], []), f"running VMs {running}, containers {containers}"


def cancel_jobs(runs: list[JobRun], sim: VBoxSim) -> None:
    """Cancel every job at once (not gracefully): each ends `canceled`, and nothing runs after."""
    for run in runs:
        run.build.cancel(graceful=False)
    states = [run.wait().state for run in runs]
    assert states == ["canceled"] * len(runs), states
    assert_nothing_runs(sim)


def config_problems(executor: str, table: str) -> list[str]:
    """What reading a config.toml whose one runner uses `executor`, with `table` after it, reports
    (each problem starts with CONFIG_PATH)."""
    text = ('[[runners]]\nname = "vm"\nurl = "http://127.0.0.1:1"\ntoken = "glrt-abc"\n'
            f'executor = "{executor}"\n{table}')
    with pytest.raises(ConfigError) as caught:
        ConfigFile.from_text(text, path=CONFIG_PATH)
    return caught.value.problems
