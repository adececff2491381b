"""gitlab-runner's service commands on a real systemd host (a container booted with /sbin/init)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.ssh.sshd import IMAGE, docker, ensure_test_image
from tests.integration.ssh.targets import build_wheelhouse, install_runnerfleet

pytestmark = pytest.mark.integration
LABEL = "runnerfleet-test=systemd-service"


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    """A systemd container with runnerfleet installed from host-built wheels and a job user."""
    ensure_test_image()
    name = f"rf-systemd-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--label", LABEL, "--cap-add", "SYS_ADMIN",
           "--security-opt", "seccomp=unconfined", "--cgroupns=host",
           "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
           IMAGE, "/sbin/init")
    try:
        deadline = time.monotonic() + 60
        while docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip() \
                not in ("running", "degraded"):
            assert time.monotonic() < deadline, "systemd did not come up in the container"
            time.sleep(0.5)
        install_runnerfleet(name, build_wheelhouse())
        docker("exec", name, "useradd", "-m", "-s", "/bin/bash", "jobs")
        yield name
    finally:
        docker("rm", "-f", name, check=False)


def sh(host: str, command: str) -> subprocess.CompletedProcess[str]:
    return docker("exec", host, "sh", "-c", command, check=False, timeout=120)


def test_install_start_status_stop_uninstall_manage_a_systemd_unit(host: str) -> None:
    done = sh(host, "cd /home/jobs && runnerfleet install --user jobs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "runnerfleet: installed /etc/systemd/system/runnerfleet.service" in done.stdout
    # gitlab-runner's install writes an empty config.toml (0600) when there is none.
    assert sh(host, "stat -c %a /etc/gitlab-runner/config.toml").stdout.strip() == "600"
    shown = sh(host, "systemctl show -p ExecStart -p KillSignal -p UnitFileState runnerfleet")
    # ExecStart names the runnerfleet that ran `install` (here the PATH link to the venv's).
    assert "argv[]=/usr/local/bin/runnerfleet run --config /etc/gitlab-runner/config.toml " \
           "--working-directory /home/jobs --service runnerfleet --user jobs" in shown.stdout
    assert "KillSignal=3" in shown.stdout and "UnitFileState=enabled" in shown.stdout

    assert sh(host, "runnerfleet start").returncode == 0
    deadline = time.monotonic() + 30
    while (status := sh(host, "runnerfleet status")).returncode != 0:
        assert time.monotonic() < deadline, status.stdout + status.stderr
        time.sleep(0.5)
    assert status.stdout.strip() == "runnerfleet: Service is running"

    assert sh(host, "runnerfleet stop").returncode == 0
    status = sh(host, "runnerfleet status")
    assert (status.returncode, status.stderr.strip()) == (1, "runnerfleet: Service has stopped")

    assert sh(host, "runnerfleet uninstall").returncode == 0
    assert sh(host, "test -e /etc/systemd/system/runnerfleet.service").returncode == 1
    again = sh(host, "runnerfleet uninstall")
    assert again.returncode == 1
    assert "service runnerfleet is not installed" in again.stderr
    gone = sh(host, "runnerfleet status")
    assert (gone.returncode, gone.stderr.strip()) == (
        1, "runnerfleet: the service is not installed (runnerfleet install -n runnerfleet)")


def test_install_as_root_needs_a_user_and_refuses_both_kinds(host: str) -> None:
    neither = sh(host, "runnerfleet install -n other")
    assert neither.returncode == 1 and "needs --user" in neither.stderr
    both = sh(host, "runnerfleet install -n other --user jobs --init-user jobs")
    assert both.returncode == 1 and "cannot be used together" in both.stderr
    assert sh(host, "test -e /etc/systemd/system/other.service").returncode == 1


def test_service_commands_without_systemd_say_so_in_one_line(tmp_path: Path) -> None:
    # This test process's host runs no systemd (CI containers and this machine).
    if Path("/run/systemd/system").is_dir():
        pytest.fail("this host runs systemd: the test needs one that does not")
    done = subprocess.run([sys.executable, "-m", "runnerfleet", "start", "-n", "nothing"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "ERROR: service commands need systemd, and it is not running here (/run/systemd/system "
        "does not exist); start `runnerfleet run` from your init system instead"]
