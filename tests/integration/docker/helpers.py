"""Helpers for docker executor tests: runner configs, jobs through Build, and what is left on the daemon."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import docker

from runnerfleet.config import DockerConfig, RunnerConfig
from runnerfleet.executors.docker import DockerExecutorProvider
from runnerfleet.executors.docker.provider import wait_for_removals
from tests.integration.build.helpers import RUNNER_TOKEN, JobRun, World, payload, start_job
from tests.integration.waiting import waiter

BASE_IMAGE = "runnerfleet/debian:bookworm"
IMAGES_DIR = Path(__file__).parent / "images"
PATIENCE = 90.0
NO_GIT = [{"key": "GIT_STRATEGY", "value": "none"}]


def build_test_image(name: str) -> str:
    """Build (or reuse, docker caches the steps) the test image under images/<name>; its tag."""
    tag = f"runnerfleet-test/{name}:latest"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(IMAGES_DIR / name)], check=True,
                   capture_output=True, text=True)
    return tag


def docker_runner(world: World, **docker: Any) -> RunnerConfig:
    """A docker runner whose jobs see the world's repository at the same path (file:// URLs work)."""
    docker.setdefault("image", BASE_IMAGE)
    docker.setdefault("pull_policy", ["if-not-present"])
    volumes = docker.pop("volumes", [])
    docker["volumes"] = [f"{world.root}:{world.root}:ro", *volumes]
    environment = docker.pop("environment", [])
    return RunnerConfig(name="docker-runner", token=RUNNER_TOKEN, executor="docker",
                        environment=environment, docker=DockerConfig(**docker))


def start_docker_job(world: World, provider: DockerExecutorProvider, body: dict[str, Any],
                     runner: RunnerConfig, **kwargs: Any) -> JobRun:
    return start_job(world, body, runner=runner, provider=provider, **kwargs)


def run_docker_job(world: World, provider: DockerExecutorProvider, script: list[str],
                   runner: RunnerConfig | None = None, **payload_kwargs: Any) -> tuple[Any, str]:
    body = payload(world, script, **payload_kwargs)
    run = start_docker_job(world, provider, body, runner or docker_runner(world))
    result = run.wait(PATIENCE * 2)
    return result, run.log


wait_until = waiter(PATIENCE)


def job_resources(job_id: int) -> dict[str, list[str]]:
    """Names of the containers, networks and non-cache volumes labelled with `job_id`.

    A job's resources are removed after its final status: removals this process started are
    waited for first (a runner in another process: use `wait_until_removed`).
    """
    wait_for_removals()
    client = docker.from_env()
    try:
        label = f"com.runnerfleet.job.id={job_id}"
        # The low-level list: the high-level one inspects each container and fails on one that a
        # runner process removes meanwhile.
        listed = client.api.containers(all=True, filters={"label": label})
        containers = [c["Names"][0].lstrip("/") for c in listed]
        networks = [n.name for n in client.networks.list(filters={"label": label})]
        volumes = [v.name for v in client.volumes.list(filters={"label": label})
                   if v.attrs.get("Labels", {}).get("com.runnerfleet.type") != "cache"]
    finally:
        client.close()
    return {"containers": containers, "networks": networks, "volumes": volumes}


NOTHING_LEFT = {"containers": [], "networks": [], "volumes": []}


def wait_until_removed(job_id: int) -> None:
    """Until a job run by another process has nothing left on the daemon (its removal follows the
    job's final status)."""
    wait_until(f"the resources of job {job_id} to be removed", lambda: job_resources(job_id) == NOTHING_LEFT)
