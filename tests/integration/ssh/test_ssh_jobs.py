"""Jobs through the SSH executor against a real sshd: login, builds dir on the target, outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runnerfleet.config import SshConfig
from runnerfleet.executors.ssh import SshExecutorProvider, SshOptions
from tests.integration.build.helpers import SHORT_TOKEN, World, payload, run_job, runner_config
from tests.integration.ssh.sshd import KeyPair, SshdContainer

pytestmark = pytest.mark.integration

FAST = SshOptions(connect_retries=1, retry_interval=0.1, connect_timeout=10)


def ssh_runner(sshd: SshdContainer, **ssh: Any) -> Any:
    ssh.setdefault("host", "127.0.0.1")
    ssh.setdefault("port", str(sshd.port))
    return runner_config(executor="ssh", ssh=SshConfig(**ssh))


def provider() -> SshExecutorProvider:
    return SshExecutorProvider(FAST)


def test_job_clones_and_runs_on_the_ssh_host_in_the_login_users_builds_dir(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    runner = ssh_runner(sshd, user="root", identity_file=str(key.private_path),
                        known_hosts_file=str(known_hosts))
    body = payload(world, ['echo "user=$(id -un) host=$(hostname)"', 'echo "dir=$PWD"', "cat README",
                           'echo "shared=$CI_SHARED_ENVIRONMENT"'])
    result, log = run_job(world, body, runner=runner, provider=provider())
    assert result.state == "success", log
    assert "Using SSH executor...\x1b[0;m\n" in log
    container_hostname = sshd.exec("hostname").strip()
    assert f"user=root host={container_hostname}\n" in log
    project = f"/root/builds/{SHORT_TOKEN}/0{str(world.bare).removesuffix('.git')}"
    assert f"dir={project}\n" in log
    assert "hello from the repo\n" in log
    assert "shared=true\n" in log
    # The checkout is on the target, not on the runner's machine.
    assert sshd.exec(f"cat {project}/README") == "hello from the repo\n"
    assert not (world.workdir / "builds").exists()


def test_password_login_runs_the_job_as_the_configured_user(
    world: World, sshd: SshdContainer, known_hosts: Path
) -> None:
    runner = ssh_runner(sshd, user="ci", password=sshd.ci_password, known_hosts_file=str(known_hosts))
    body = payload(world, ['echo "user=$(id -un) builds=$CI_BUILDS_DIR"'],
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body, runner=runner, provider=provider())
    assert result.state == "success", log
    assert "user=ci builds=/home/ci/builds\n" in log


def test_a_refused_password_fails_the_job_without_showing_the_password(
    world: World, sshd: SshdContainer, known_hosts: Path
) -> None:
    runner = ssh_runner(sshd, user="ci", password="wrong-pass-123", known_hosts_file=str(known_hosts))
    body = payload(world, ["echo never"])
    result, log = run_job(world, body, runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_system_failure")
    assert result.message == (f"ssh: 127.0.0.1:{sshd.port} refused the login of ci (tried password): "
                              "check user, password and identity_file in [runners.ssh]")
    assert "wrong-pass-123" not in log
    # A login that cannot work is not retried three times.
    assert "Will be retried" not in log


def test_script_failure_reports_the_remote_exit_status(
    world: World, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    runner = ssh_runner(sshd, identity_file=str(key.private_path), known_hosts_file=str(known_hosts))
    body = payload(world, ["echo to-stderr >&2", "exit 3"], after_script=['echo "after: $CI_JOB_STATUS"'],
                   variables=[{"key": "GIT_STRATEGY", "value": "none"}])
    result, log = run_job(world, body, runner=runner, provider=provider())
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 3)
    assert result.message == "Process exited with status 3"
    assert "to-stderr\n" in log
    assert "after: failed\n" in log
    assert log.endswith("ERROR: Job failed: Process exited with status 3\x1b[0;m\n")


def test_unreadable_identity_file_is_a_configuration_error_naming_the_key(
    world: World, sshd: SshdContainer, known_hosts: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-key"
    runner = ssh_runner(sshd, identity_file=str(missing), known_hosts_file=str(known_hosts))
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error")
    assert result.message == f"runners.ssh.identity_file: cannot read {missing}: No such file or directory"


def test_a_port_that_is_not_a_number_is_a_configuration_error_naming_the_key(world: World) -> None:
    runner = runner_config(executor="ssh", ssh=SshConfig(host="127.0.0.1", port="ssh"))
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error")
    assert result.message == 'runners.ssh.port: "ssh" is not a port number (1-65535)'


def test_missing_ssh_table_is_a_configuration_error(world: World) -> None:
    runner = runner_config(executor="ssh")
    result, _ = run_job(world, payload(world, ["true"]), runner=runner, provider=provider())
    assert (result.state, result.failure_reason) == ("failed", "runner_configuration_error")
    assert result.message.startswith("missing SSH configuration: add a [runners.ssh] table")
