"""Pull policies with no registry reachable, and the allowed images/services/policies lists."""

from __future__ import annotations

from collections.abc import Iterator

import docker as sdk
import pytest

from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import ALL_REASONS, World
from tests.integration.docker.helpers import (
    BASE_IMAGE,
    NO_GIT,
    NOTHING_LEFT,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration

REASONS = [*ALL_REASONS, "image_pull_failure"]
# A registry address on loopback where nothing listens: every pull fails at once, no traffic leaves.
UNREACHABLE = "127.0.0.1:1/runnerfleet-test/debian"


@pytest.fixture
def registry_image(docker_ready: None) -> Iterator[str]:
    """The base image also tagged under an unreachable registry (present locally, never pullable)."""
    client = sdk.from_env()
    client.images.get(BASE_IMAGE).tag(UNREACHABLE, "local")
    yield f"{UNREACHABLE}:local"
    client.close()


def test_never_with_a_missing_image_names_the_image_and_the_policy(
        world: World, provider: DockerExecutorProvider) -> None:
    result, log = run_docker_job(world, provider, ["true"], variables=NO_GIT, failure_reasons=REASONS,
                                 image={"name": "runnerfleet-test/not-built:1", "pull_policy": ["never"]},
                                 runner=docker_runner(world, pull_policy=["never"]))
    assert result.state == "failed" and result.failure_reason == "image_pull_failure"
    assert ('failed to pull image "runnerfleet-test/not-built:1" with specified policies [never]: '
            'image "runnerfleet-test/not-built:1" is not present on the docker daemon and the pull policy '
            'is "never"') in log
    assert job_resources(4242) == NOTHING_LEFT


def test_always_fails_when_the_registry_is_unreachable_even_with_a_local_copy(
        world: World, provider: DockerExecutorProvider, registry_image: str) -> None:
    result, log = run_docker_job(world, provider, ["true"], variables=NO_GIT, failure_reasons=REASONS,
                                 runner=docker_runner(world, image=registry_image, pull_policy=["always"]))
    assert result.state == "failed" and result.failure_reason == "image_pull_failure"
    assert f"Pulling docker image {registry_image} ..." in log
    assert f'failed to pull image "{registry_image}" with specified policies [always]: ' in log
    assert "127.0.0.1:1" in log.split("specified policies [always]:", 1)[1]


def test_a_failed_always_falls_back_to_the_next_policy_in_the_list(
        world: World, provider: DockerExecutorProvider, registry_image: str) -> None:
    runner = docker_runner(world, image=registry_image, pull_policy=["always", "if-not-present"])
    result, log = run_docker_job(world, provider, ["echo fell-back"], variables=NO_GIT, runner=runner)
    assert result.state == "success", log
    assert 'Failed to pull image with policy "always"' in log
    assert 'Using locally found image version due to "if-not-present" pull policy' in log
    assert "fell-back\n" in log


def test_a_job_policy_outside_allowed_pull_policies_fails_the_job(
        world: World, provider: DockerExecutorProvider) -> None:
    result, log = run_docker_job(world, provider, ["true"], variables=NO_GIT,
                                 image={"name": BASE_IMAGE, "pull_policy": ["always"]})
    assert result.state == "failed" and result.failure_reason == "runner_configuration_error"
    assert ("pull_policy ([always]) defined in GitLab pipeline config is not one of the "
            "allowed_pull_policies ([if-not-present])") in log


def test_a_job_image_outside_allowed_images_is_refused_but_the_runner_image_is_always_allowed(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, allowed_images=["ruby:*", "python:3.*"])
    result, log = run_docker_job(world, provider, ["true"], variables=NO_GIT, runner=runner,
                                 image={"name": "runnerfleet-test/entrypoint:latest"})
    assert result.state == "failed" and result.failure_reason == "runner_configuration_error"
    assert 'The "runnerfleet-test/entrypoint:latest" image is not present on list of allowed images:' in log
    assert "- ruby:*" in log and "- python:3.*" in log

    result, log = run_docker_job(world, provider, ["echo runner-image-ok"], variables=NO_GIT, runner=runner)
    assert result.state == "success", log


def test_a_job_service_outside_allowed_services_is_refused(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, allowed_services=["postgres:*"])
    result, log = run_docker_job(world, provider, ["true"], variables=NO_GIT, runner=runner,
                                 services=[{"name": "runnerfleet-test/webserver:latest"}])
    assert result.state == "failed" and result.failure_reason == "runner_configuration_error"
    assert ('The "runnerfleet-test/webserver:latest" service is not present on list of allowed services:'
            in log)
