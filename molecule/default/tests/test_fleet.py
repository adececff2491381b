"""The fleet after converge: each host runs its service, keeps its secrets private, is verified by
GitLab and runs a real job (git clone of a project, a script) as the unprivileged job user."""

from __future__ import annotations

import json

from coordinator_api import Coordinator
from testinfra.host import Host

CONFIG = "/etc/gitlab-runner/config.toml"


def hostname_of(host: Host) -> str:
    return str(host.backend.get_hostname())


def test_the_service_is_enabled_and_running(host: Host) -> None:
    service = host.service("runnerfleet")
    assert service.is_running and service.is_enabled
    main_pid = host.check_output("systemctl show -p MainPID --value runnerfleet")
    assert "runnerfleet run" in host.check_output(f"ps -o args= -p {main_pid}")


def test_config_is_readable_by_root_only(host: Host) -> None:
    config, directory = host.file(CONFIG), host.file("/etc/gitlab-runner")
    assert (config.user, config.group, config.mode) == ("root", "root", 0o600)
    assert (directory.user, directory.mode) == ("root", 0o700)


def test_the_runner_is_verified_by_gitlab(host: Host) -> None:
    info = host.ansible("runnerfleet.gitlab.runner_info", "verify=true", check=False)
    names = [r["name"] for r in info["runners"]]
    assert names == ["shell"]
    assert [r["verified"] for r in info["runners"]] == [True], info["runners"]


def test_the_engine_runs_from_its_venv(host: Host) -> None:
    unit = host.file("/etc/systemd/system/runnerfleet.service").content_string
    assert 'ExecStart="/opt/runnerfleet/venv/bin/runnerfleet" "run"' in unit
    assert "KillSignal=SIGQUIT" in unit
    assert host.run("/opt/runnerfleet/venv/bin/runnerfleet --version").rc == 0


def test_a_job_enqueued_in_gitlab_runs_on_this_host_and_succeeds(
    host: Host, coordinator: Coordinator
) -> None:
    name = hostname_of(host)
    project = coordinator.project_with_commit(
        f"molecule/default-{name}", {"hello.sh": 'echo "hello from $(id -un) on $(hostname)"\n'})
    job_id = coordinator.enqueue(project=project, name="hello", tags=[name],
                                 script=["sh hello.sh", "test -f hello.sh"])
    job = coordinator.wait_for(job_id, {"success", "failed", "canceled"})
    assert job["status"] == "success", json.dumps(
        {k: job[k] for k in ("status", "failure_reason", "trace")})
    assert f"hello from gitlab-runner on {name}" in job["trace"]
    runner_names = {r["id"]: r.get("description") for r in coordinator.runners()}
    assert runner_names[job["runner_id"]] == f"{name} shell"
