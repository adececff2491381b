"""The shell executor's job set with the docker executor, through a coordinator on the docker bridge.

Issue 6's "done when": the jobs that pass with the shell executor pass in containers. The job and
helper containers reach the coordinator on 172.17.0.1 (clone with the job token over smart HTTP,
artifacts both ways with a shell runner on the host, the cache in the runner's cache volume);
cancel and timeout leave no process and no container.
"""

from __future__ import annotations

import contextlib

import docker
import pytest

from runnerfleet.tokens import shorten_token
from tests.integration.docker.helpers import BASE_IMAGE
from tests.integration.ssh.gitjobs import BridgeFleet, RemoteSide, fleet, run_job_set

pytestmark = pytest.mark.integration
__all__ = ["fleet"]


def _job_container_processes() -> list[str]:
    """Command lines of every process in a container a runnerfleet job created."""
    client = docker.from_env()
    try:
        found: list[str] = []
        for listed in client.api.containers(filters={"label": "com.runnerfleet.managed"}):
            try:
                top = client.api.top(listed["Id"])
            except docker.errors.APIError:  # removed meanwhile
                continue
            column = top["Titles"].index("CMD")
            found += [row[column] for row in top.get("Processes") or []]
        return found
    finally:
        client.close()


def test_the_shell_executors_job_set_passes_in_containers_through_the_coordinator(
        fleet: BridgeFleet, docker_ready: None) -> None:
    token = fleet.create_runner("docker")
    fleet.write_config(
        {"name": "docker", "token": token, "executor": "docker",
         # `/cache` as a volume, as `register` writes it: the local cache outlives the job.
         "docker": {"image": BASE_IMAGE, "pull_policy": ["if-not-present"], "volumes": ["/cache"]}},
        {"name": "local", "token": fleet.create_runner("local"), "executor": "shell"},
    )
    # The builds dir is a per-project volume (gitlab-runner's caching of docker containers):
    # the next job fetches into the same checkout. The timeout covers starting the containers.
    try:
        run_job_set(fleet, RemoteSide("docker", keeps_checkout=True, processes=_job_container_processes,
                                      timeout=15, failure_line="ERROR: Job failed: exit code 3"))
        assert _job_container_processes() == []
    finally:  # the kept builds and /cache volumes of this test's runner
        client = docker.from_env()
        for volume in client.volumes.list(
                filters={"label": f"com.runnerfleet.runner.short_token={shorten_token(token)}"}):
            with contextlib.suppress(docker.errors.APIError):  # still used by a failed job's container
                volume.remove(force=True)
        client.close()
