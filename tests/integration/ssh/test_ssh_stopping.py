"""Cancel, timeouts and lost connections over SSH: outcome, log, and no process left on the target."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runnerfleet.executors.ssh import SshExecutorProvider, SshOptions
from tests.integration.build.helpers import JobRun, World, payload, start_job
from tests.integration.ssh.sshd import KeyPair, SshdContainer, docker
from tests.integration.ssh.test_ssh_jobs import provider, ssh_runner

pytestmark = pytest.mark.integration

SLEEPERS = ['echo "started pgid=$(ps -o pgid= $$)"', "sleep 1000 &", "(sleep 1000; echo never) &",
            "sleep 1000"]
NO_GIT = [{"key": "GIT_STRATEGY", "value": "none"}]


def wait_for_log(run: JobRun, text: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if text in run.log:
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} did not appear in the job log within {limit} s:\n{run.log}")


def _runner(sshd: SshdContainer, key: KeyPair, known_hosts: Path) -> object:
    return ssh_runner(sshd, identity_file=str(key.private_path), known_hosts_file=str(known_hosts))


@pytest.mark.parametrize("user", ["root", "ci"])
def test_graceful_cancel_kills_the_remote_process_group_and_runs_after_script(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path, user: str
) -> None:
    # sshd honours the SSH KILL signal for ci but not for root (no privilege separation there).
    if user == "root":
        runner = _runner(sshd, key, known_hosts)
    else:
        runner = ssh_runner(sshd, user="ci", password=sshd.ci_password, known_hosts_file=str(known_hosts))
    body = payload(world, SLEEPERS, after_script=['echo "after: $CI_JOB_STATUS"'], variables=NO_GIT)
    run = start_job(world, body, runner=runner, provider=provider())
    wait_for_log(run, "started pgid=")
    assert len([p for p in sshd.processes() if "sleep 1000" in p]) == 3
    run.build.cancel(graceful=True)
    result = run.wait()
    # job_canceled is not among the payload's failure_reasons, so GitLab gets unknown_failure.
    assert (result.state, result.failure_reason) == ("canceled", "unknown_failure")
    assert "after: canceled\n" in run.log
    assert sshd.wait_for_processes_gone("sleep 1000") == []
    assert "never\n" not in run.log


def test_job_timeout_kills_the_remote_process_group(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    body = payload(world, SLEEPERS, variables=NO_GIT, timeout=3)
    run = start_job(world, body, runner=_runner(sshd, key, known_hosts), provider=provider())
    result = run.wait()
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout")
    assert result.message == "execution took longer than 3s seconds"
    assert "started pgid=" in run.log
    assert sshd.wait_for_processes_gone("sleep 1000") == []


def test_script_timeout_kills_the_remote_script_and_after_script_still_runs(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    body = payload(world, SLEEPERS, after_script=['echo "after: $CI_JOB_STATUS"'],
                   variables=[*NO_GIT, {"key": "RUNNER_SCRIPT_TIMEOUT", "value": "2s"}])
    run = start_job(world, body, runner=_runner(sshd, key, known_hosts), provider=provider())
    result = run.wait()
    assert result.message == "script timeout: context deadline exceeded"
    assert "after: timedout\n" in run.log
    assert sshd.wait_for_processes_gone("sleep 1000") == []


def test_a_connection_dropped_mid_job_is_a_system_failure_with_the_log_kept(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    body = payload(world, ['echo "before the drop"', "sleep 1000"], variables=NO_GIT)
    run = start_job(world, body, runner=_runner(sshd, key, known_hosts), provider=provider())
    wait_for_log(run, "before the drop\n")
    # Every sshd dies: the listener and the job's session (the host goes away).
    sshd.exec("pkill -KILL -x sshd")
    result = run.wait()
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert (result.message or "").startswith(f"ssh: connection to 127.0.0.1:{sshd.port} lost before the "
                                             "command ended")
    log = run.log
    assert "before the drop\n" in log
    assert "Job failed (system failure): ssh: connection to" in log


def test_keep_alives_notice_a_host_that_stops_answering(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    options = SshOptions(connect_retries=1, retry_interval=0.1, connect_timeout=10,
                         keepalive_interval=0.5, keepalive_count_max=2, kill_wait=2)
    body = payload(world, ['echo "before the freeze"', "sleep 1000"], variables=NO_GIT)
    run = start_job(world, body, runner=_runner(sshd, key, known_hosts),
                    provider=SshExecutorProvider(options))
    wait_for_log(run, "before the freeze\n")
    # A frozen host keeps the TCP connection open but never answers again.
    docker("pause", sshd.name)
    try:
        result = run.wait(limit=60)
    finally:
        docker("unpause", sshd.name, check=False)
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert "lost before the command ended" in (result.message or "")
    assert "before the freeze\n" in run.log
