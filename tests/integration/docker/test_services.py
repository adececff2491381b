"""Services: aliases over legacy links and over a network per build, variables, the health wait."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from runnerfleet.config import DockerServiceConfig
from runnerfleet.executors.base import BuildContext
from runnerfleet.executors.docker import DockerExecutor, DockerExecutorProvider
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.job import JobPayload
from runnerfleet.trace import TraceBuffer
from tests.integration.build.helpers import World, payload
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    build_test_image,
    docker_runner,
    job_resources,
    run_docker_job,
    wait_until,
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


def _prepare_with_a_mute_service(world: World, provider: DockerExecutorProvider, **context: Any) -> tuple[
        DockerExecutor, TraceBuffer, threading.Thread, list[BaseException]]:
    """Start `prepare` of a job whose one service never listens (health wait 120 s) in a thread."""
    body = payload(world, ["true"], variables=NO_GIT + PER_BUILD,
                   services=[{"name": build_test_image("webserver"), "alias": "mute",
                              "command": ["sh", "-c", "sleep 300"]}])
    trace = TraceBuffer(timestamps=False)
    executor = provider.create()
    assert isinstance(executor, DockerExecutor)
    ctx = BuildContext(runner=docker_runner(world, wait_for_services_timeout=120), trace=trace, job_id=4242,
                       working_directory=world.workdir, feature_flags={"FF_NETWORK_PER_BUILD": True},
                       payload=JobPayload.from_json(body), **context)
    raised: list[BaseException] = []

    def prepare() -> None:
        try:
            executor.prepare(ctx)
        except BaseException as exc:  # the outcome under test
            raised.append(exc)

    thread = threading.Thread(target=prepare)
    thread.start()
    return executor, trace, thread, raised


def test_a_cancel_during_the_service_health_wait_ends_prepare_and_leaves_nothing(
        world: World, provider: DockerExecutorProvider) -> None:
    cancel = threading.Event()
    executor, trace, thread, raised = _prepare_with_a_mute_service(world, provider, cancel_event=cancel)
    waiting = b"Waiting for services to be up and running"
    wait_until("the health wait", lambda: waiting in trace.bytes_since(0))
    cancel.set()
    thread.join()
    executor.cleanup()
    assert len(raised) == 1 and isinstance(raised[0], BuildError)
    assert (str(raised[0]), raised[0].failure_reason) == ("canceled while waiting for services",
                                                          FailureReason.JOB_CANCELED)
    assert b"probably didn't start properly" not in trace.bytes_since(0)  # the 120 s wait did not end
    assert job_resources(4242) == NOTHING_LEFT


def test_the_jobs_time_running_out_during_the_service_health_wait_ends_prepare_and_leaves_nothing(
        world: World, provider: DockerExecutorProvider) -> None:
    executor, trace, thread, raised = _prepare_with_a_mute_service(world, provider, prepare_timeout=5.0)
    thread.join()
    executor.cleanup()
    assert len(raised) == 1 and isinstance(raised[0], BuildError)
    assert raised[0].failure_reason == FailureReason.JOB_EXECUTION_TIMEOUT
    assert "while waiting for services" in str(raised[0])
    assert b"Waiting for services to be up and running (timeout 120 seconds)" in trace.bytes_since(0)
    assert b"probably didn't start properly" not in trace.bytes_since(0)
    assert job_resources(4242) == NOTHING_LEFT


def test_a_job_whose_time_runs_out_while_a_service_never_listens_times_out_without_the_long_wait(
        world: World, provider: DockerExecutorProvider) -> None:
    """Through the whole job pipeline: the job timeout reaches the executor's health wait."""
    runner = docker_runner(world, wait_for_services_timeout=120)
    result, log = run_docker_job(world, provider, ["echo never-ran"], runner=runner, timeout=4,
                                 variables=NO_GIT + PER_BUILD,
                                 services=[{"name": build_test_image("webserver"), "alias": "mute",
                                            "command": ["sh", "-c", "sleep 300"]}])
    assert (result.state, result.failure_reason) == ("failed", "job_execution_timeout"), log
    assert "Waiting for services to be up and running (timeout 120 seconds)" in log
    assert "probably didn't start properly" not in log  # the 120 s wait did not run out
    assert "never-ran" not in log
    assert job_resources(4242) == NOTHING_LEFT
