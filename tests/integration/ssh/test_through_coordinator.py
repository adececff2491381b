"""`runnerfleet run-single` with the ssh and virtualbox executors, jobs from a real coordinator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.coordinator import start_coordinator
from tests.integration.service.conftest import World as ServiceWorld
from tests.integration.ssh.sshd import IMAGE, KeyPair, SshdContainer
from tests.vboxsim.harness import EXECUTABLE, VBoxSim

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceWorld]:
    coordinator = start_coordinator(tmp_path / "coordinator", "--long-poll-timeout", "2")
    world = ServiceWorld(tmp_path, coordinator)
    try:
        yield world
    finally:
        world.close()
        coordinator.stop()


def test_ssh_runner_runs_coordinator_jobs_on_the_remote_host(
    service: ServiceWorld, sshd: SshdContainer, key: KeyPair, known_hosts: Path
) -> None:
    token = service.admin.create_runner()
    service.write_config({"name": "remote", "token": token, "executor": "ssh",
                          "ssh": {"host": "127.0.0.1", "port": str(sshd.port), "user": "root",
                                  "identity_file": str(key.private_path),
                                  "known_hosts_file": str(known_hosts)}})
    passing = service.admin.enqueue('echo "remote host: $(hostname)"')
    failing = service.admin.enqueue("echo about to fail", "exit 4")
    single = service.run_single("-c", str(service.config), "-r", "remote", "--max-builds", "2")
    assert single.wait() == 0, single.output
    job = service.admin.job(passing)
    assert job["status"] == "success", job["trace"]
    assert f"remote host: {sshd.exec('hostname').strip()}" in job["trace"]
    job = service.admin.job(failing)
    assert (job["status"], job["failure_reason"]) == ("failed", "script_failure")
    assert "Process exited with status 4" in job["trace"]
    assert service.journal_records == []


def test_virtualbox_runner_runs_a_coordinator_job_in_a_vm_and_leaves_nothing_running(
    service: ServiceWorld, key: KeyPair, tmp_path: Path, test_image: None
) -> None:
    vbox = VBoxSim(tmp_path / "vbox")
    try:
        boot = f"mkdir -p /run/sshd /root/.ssh && echo '{key.public_line}' > /root/.ssh/authorized_keys " \
               "&& exec /usr/sbin/sshd -D -e"
        vbox.create_golden_vm("golden", IMAGE, boot)
        # The service finds VBoxManage on its PATH, as on a VirtualBox host.
        service.env["PATH"] = f"{EXECUTABLE.parent}{os.pathsep}{service.env['PATH']}"
        service.env["VBOXSIM_HOME"] = str(vbox.home)
        token = service.admin.create_runner()
        service.write_config({"name": "vm", "token": token, "executor": "virtualbox",
                              "ssh": {"user": "root", "identity_file": str(key.private_path),
                                      "disable_strict_host_key_checking": True},
                              "virtualbox": {"base_name": "golden"}})
        job_id = service.admin.enqueue('echo "inside: $CI_DISPOSABLE_ENVIRONMENT $(id -un)"')
        single = service.run_single("-c", str(service.config), "-r", "vm", "--max-builds", "1")
        assert single.wait(patience=180) == 0, single.output
        job = service.admin.job(job_id)
        assert job["status"] == "success", job["trace"]
        assert "inside: true root" in job["trace"]
        assert "Using VirtualBox version" in job["trace"]
        assert vbox.running_vm_names() == []
        assert vbox.containers(running_only=True) == []
    finally:
        vbox.destroy()
