"""Fixtures for docker executor tests: a real dockerd, the local base and helper images, a provider."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from runnerfleet.executors.docker import DockerExecutorProvider, KillTimeouts
from tests.integration.build.helpers import World, make_world

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Start dockerd if needed, build runnerfleet/debian:bookworm and runnerfleet's helper image."""
    for script in ("scripts/testworld/dockerd.sh", "scripts/testworld/images.sh",
                   "scripts/build-helper-image.sh"):
        done = subprocess.run(["bash", script], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"{script} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture
def provider(docker_ready: None) -> Iterator[DockerExecutorProvider]:
    provider = DockerExecutorProvider(kill_timeouts=KillTimeouts(graceful=3.0, force=2.0))
    yield provider
    provider.close()


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture(autouse=True)
def no_kept_checkout() -> Iterator[None]:
    """Every test starts without a kept builds dir and leaves none: GIT_STRATEGY=fetch keeps the
    checkout in a per-project volume of the runner (as gitlab-runner), and the in-process tests
    share one runner token (volumes still in use are left to their job)."""
    yield
    with contextlib.suppress(docker.errors.DockerException):
        client = docker.from_env()
        try:
            for volume in client.volumes.list(filters={"label": [
                    "com.runnerfleet.type=cache", "com.runnerfleet.destination=/builds"]}):
                with contextlib.suppress(docker.errors.APIError):
                    volume.remove(force=True)
        finally:
            client.close()
