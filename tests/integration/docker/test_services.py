"""Services: aliases over legacy links and over a network per build, variables, the health wait."""

from __future__ import annotations

import pytest

from runnerfleet.config import DockerServiceConfig
from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    build_test_image,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration
PER_BUILD = [{"key": "FF_NETWORK_PER_BUILD", "value": "true"}]


@pytest.mark.parametrize("network", ["legacy links", "network per build"])
def test_services_answer_on_their_aliases(world: World, provider: DockerExecutorProvider,
                                          network: str) -> None:
    image = build_test_image("webserver")
    variables = NO_GIT + (PER_BUILD if network == "network per build" else [])
    result, log = run_docker_job(
        world, provider,
        ["curl -sS --max-time 10 http://web:8000/", "curl -sS --max-time 10 http://second:8000/",
         "curl -sS --max-time 10 http://runnerfleet-test__webserver:8000/"],
        variables=variables,
        services=[{"name": image, "alias": "web,second",
                   "variables": [{"key": "SERVICE_NAME", "value": "from-job"}]}])
    assert result.state == "success", log
    assert f"Starting service {image} ..." in log
    assert log.count("service=from-job proxy=\n") == 3
    assert "probably didn't start properly" not in log
    assert job_resources(4242) == NOTHING_LEFT


def test_config_services_come_first_with_their_environment(
        world: World, provider: DockerExecutorProvider) -> None:
    image = build_test_image("webserver")
    runner = docker_runner(world, services=[DockerServiceConfig(
        name=image, alias="configured", environment=["SERVICE_NAME=from-config"])])
    result, log = run_docker_job(world, provider, ["curl -sS --max-time 10 http://configured:8000/"],
                                 runner=runner, variables=NO_GIT + PER_BUILD)
    assert result.state == "success", log
    assert "service=from-config proxy=\n" in log


def test_a_service_that_never_listens_is_a_warning_with_its_logs_not_a_failure(
        world: World, provider: DockerExecutorProvider) -> None:
    image = build_test_image("webserver")
    runner = docker_runner(world, wait_for_services_timeout=2)
    result, log = run_docker_job(world, provider, ["echo job-ran"], runner=runner, variables=NO_GIT,
                                 services=[{"name": image, "alias": "mute",
                                            "command": ["sh", "-c", "echo service-says-hello; sleep 300"]}])
    assert result.state == "success", log
    assert "probably didn't start properly." in log
    assert "Health check error:" in log and "no port of" in log and "(8000)" in log
    assert "service-says-hello" in log
    assert "job-ran\n" in log
    assert job_resources(4242) == NOTHING_LEFT


def test_services_limit_refuses_a_job_with_too_many_services(
        world: World, provider: DockerExecutorProvider) -> None:
    image = build_test_image("webserver")
    runner = docker_runner(world, services_limit=1)
    result, log = run_docker_job(world, provider, ["true"], runner=runner, variables=NO_GIT,
                                 services=[{"name": image, "alias": "a"}, {"name": image, "alias": "b"}])
    assert result.state == "failed" and result.failure_reason == "runner_configuration_error"
    assert "runners.docker.services_limit: the job needs 2 services, the limit is 1" in log
