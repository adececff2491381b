"""`runnerfleet run` with `executor = "docker"`: jobs from the coordinator run in containers end to end."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.coordinator import start_coordinator
from tests.integration.docker.helpers import BASE_IMAGE, build_test_image, wait_until_removed
from tests.integration.service.conftest import World

pytestmark = pytest.mark.integration

DOCKER = {"image": BASE_IMAGE, "pull_policy": ["if-not-present"]}


@pytest.fixture
def service(tmp_path: Path, docker_ready: None) -> Iterator[World]:
    coordinator = start_coordinator(tmp_path / "coordinator", "--long-poll-timeout", "2")
    world = World(tmp_path, coordinator)
    try:
        yield world
    finally:
        world.close()
        coordinator.stop()


def test_jobs_from_the_coordinator_succeed_and_fail_in_containers_as_with_the_shell_executor(
        service: World) -> None:
    service.write_config({"name": "docker-e2e", "token": service.admin.create_runner(), "executor": "docker",
                          "docker": DOCKER})
    runner = service.run()
    ok = service.admin.enqueue("echo hello from $(cat /etc/debian_version)", "echo second line")
    failing = service.admin.enqueue("echo about to fail", "exit 3",
                                    after_script=["echo after script ran with $CI_JOB_STATUS"])
    job = service.admin.finished(ok)
    assert job["status"] == "success", job["trace"]
    assert f"Using Docker executor with image {BASE_IMAGE} ..." in job["trace"]
    assert "hello from 12." in job["trace"] and "second line" in job["trace"]
    assert job["trace"].rstrip().endswith("Job succeeded\x1b[0;m")

    job = service.admin.finished(failing)
    assert (job["status"], job["failure_reason"], job["exit_code"]) == ("failed", "script_failure", 3)
    assert "after script ran with failed" in job["trace"]
    assert "ERROR: Job failed: exit code 3" in job["trace"]
    wait_until_removed(ok)
    wait_until_removed(failing)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_job_canceled_in_gitlab_stops_its_container_and_leaves_nothing(service: World) -> None:
    service.write_config({"token": service.admin.create_runner(), "executor": "docker", "docker": DOCKER})
    runner = service.run()
    job_id = service.admin.enqueue("echo started", "sleep 300")
    service.admin.running_with(job_id, "started")
    service.admin.cancel(job_id)
    job = service.admin.finished(job_id)
    assert job["status"] == "canceled", job["trace"]
    runner.wait_line(rf"Removed job from processing list.*job={job_id}")
    wait_until_removed(job_id)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_the_jobs_own_image_and_services_from_gitlab_are_used(service: World) -> None:
    image, web = build_test_image("entrypoint"), build_test_image("webserver")
    service.write_config({"token": service.admin.create_runner(), "executor": "docker", "docker": DOCKER})
    runner = service.run()
    job_id = service.admin.enqueue(
        "echo prepared=$PREPARED_BY_ENTRYPOINT", "curl -sS --max-time 10 http://web:8000/",
        image={"name": image},
        services=[{"name": web, "alias": "web",
                   "variables": [{"key": "SERVICE_NAME", "value": "from-gitlab"}]}])
    job = service.admin.finished(job_id)
    assert job["status"] == "success", job["trace"]
    assert f"Using Docker executor with image {image} ..." in job["trace"]
    assert "prepared=yes" in job["trace"] and "service=from-gitlab" in job["trace"]
    wait_until_removed(job_id)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
