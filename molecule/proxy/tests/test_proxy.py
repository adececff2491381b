"""Hosts behind an authenticating corporate proxy: GitLab is reachable only through cntlm and
squid (NTLM, user corpuser), jobs run, and the proxy password is nowhere on the hosts."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from coordinator_api import Coordinator
from testinfra.host import Host

testinfra_hosts = ["ansible://runners"]
PASSWORD = "Pr0xy-s3cret-molecule"  # cntlm_password in molecule.yml


def test_the_coordinator_cannot_be_reached_without_the_proxy(
    host: Host, coordinator: Coordinator
) -> None:
    # GitLab answers 401 to an anonymous runner listing: an answer means the request got there.
    url = f"{coordinator.url}/api/v4/runners/all"
    direct = host.run(f"curl -sS --noproxy '*' -m 5 -o /dev/null -w '%{{http_code}}' {url}")
    assert direct.rc != 0 and direct.stdout == "000"
    proxied = host.run(f"curl -sS --noproxy '' -x http://127.0.0.1:3128 -m 10 -o /dev/null "
                       f"-w '%{{http_code}}' {url}")
    assert proxied.stdout == "401"


def test_cntlm_runs_with_hashes_only(host: Host) -> None:
    assert host.service("cntlm").is_running
    conf = host.file("/etc/cntlm.conf")
    assert (conf.user, conf.mode) == ("root", 0o600)
    text = conf.content_string
    assert "PassNT" in text and "Auth        NT" in text
    assert not [line for line in text.splitlines() if line.split()[:1] == ["Password"]]
    assert "Proxy       rf-mol-proxy-squid:3128" in text


def test_the_runner_service_uses_cntlm_from_a_private_file(host: Host) -> None:
    shown = host.check_output("systemctl show runnerfleet -p EnvironmentFiles -p Environment")
    assert "/etc/runnerfleet/runnerfleet-proxy.env" in shown
    env = host.file("/etc/runnerfleet/runnerfleet-proxy.env")
    assert env.mode == 0o600
    assert "HTTPS_PROXY='http://127.0.0.1:3128'" in env.content_string.splitlines()


def test_the_docker_daemon_gets_the_proxy_from_a_private_file(host: Host) -> None:
    names = [r["name"] for r in host.ansible("runnerfleet.gitlab.runner_info", check=False)["runners"]]
    dropin = host.file("/etc/systemd/system/docker.service.d/http-proxy.conf")
    if "docker" not in names:  # only rf-mol-proxy-1 has a docker runner
        assert not dropin.exists
        return
    assert "EnvironmentFile=/etc/runnerfleet/docker-proxy.env" in dropin.content_string
    env = host.file("/etc/runnerfleet/docker-proxy.env")
    assert (env.user, env.mode) == ("root", 0o600)
    assert "HTTPS_PROXY=http://127.0.0.1:3128" in env.content_string.splitlines()


def test_a_job_runs_through_the_proxy_and_succeeds(
    host: Host, coordinator: Coordinator, squid: Host
) -> None:
    name = str(host.backend.get_hostname())
    project = coordinator.project_with_commit(
        f"molecule/proxy-{name}", {"hello.sh": 'echo "hello through the proxy from $(hostname)"\n'})
    job_id = coordinator.enqueue(project=project, name="hello", tags=[name],
                                 script=["sh hello.sh"])
    job = coordinator.wait_for(job_id, {"success", "failed", "canceled"})
    assert job["status"] == "success", json.dumps(
        {k: job[k] for k in ("status", "failure_reason", "trace")})
    assert f"hello through the proxy from {name}" in job["trace"]
    # squid saw the runner's requests and the job's git clone, as the authenticated user.
    target = urlsplit(coordinator.url).netloc
    log = squid.file("/var/log/squid/access.log").content_string.splitlines()
    ours = [line for line in log if target in line and " corpuser " in line]
    assert any("/api/v4/jobs/request" in line for line in ours)
    assert any(f"/{project}.git/" in line for line in ours)


@pytest.mark.parametrize("command", [
    "systemctl show runnerfleet cntlm",
    "cat /etc/systemd/system/*.service /etc/systemd/system/*.service.d/* /etc/runnerfleet/*",
    "cat /etc/cntlm.conf /etc/gitlab-runner/config.toml",
    "journalctl --no-pager",
    "ps -eo args",
])
def test_the_proxy_password_is_nowhere_on_the_host(host: Host, command: str) -> None:
    output = host.run(command)
    assert output.stdout
    assert PASSWORD not in output.stdout + output.stderr


def test_the_proxy_password_is_not_in_the_facts(host: Host) -> None:
    facts = host.ansible("setup", check=False)
    assert PASSWORD not in json.dumps(facts)
