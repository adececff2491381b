"""Cancel and timeout stop a docker job's script (§5.10) and remove everything the job made."""

from __future__ import annotations

import pytest

from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World, payload
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    docker_runner,
    job_resources,
    run_docker_job,
    start_docker_job,
    wait_until,
)

pytestmark = pytest.mark.integration


def test_cancel_during_the_script_runs_after_script_and_leaves_nothing_behind(
        world: World, provider: DockerExecutorProvider) -> None:
    body = payload(world, ["echo started", "sleep 300"],
                   after_script=["echo after-ran status=$CI_JOB_STATUS"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, docker_runner(world))
    wait_until("the script to start", lambda: "started\n" in run.log)
    run.build.cancel(graceful=True)
    result = run.wait()
    assert result.state == "canceled"
    assert "after-ran status=canceled\n" in run.log
    assert job_resources(4242) == NOTHING_LEFT


def test_abort_stops_the_job_at_once_and_leaves_nothing_behind(
        world: World, provider: DockerExecutorProvider) -> None:
    body = payload(world, ["echo started", "sleep 300"], after_script=["echo after-ran"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, docker_runner(world))
    wait_until("the script to start", lambda: "started\n" in run.log)
    run.build.cancel(graceful=False)
    result = run.wait()
    assert result.state == "canceled"
    assert "after-ran" not in run.log
    assert job_resources(4242) == NOTHING_LEFT


def test_a_job_timeout_kills_the_script_and_leaves_nothing_behind(
        world: World, provider: DockerExecutorProvider) -> None:
    body = payload(world, ["echo started", "sleep 300"], variables=NO_GIT, timeout=4)
    run = start_docker_job(world, provider, body, docker_runner(world))
    result = run.wait()
    assert result.state == "failed"
    assert result.failure_reason == "job_execution_timeout"
    assert "started\n" in run.log
    assert "execution took longer than 4s seconds" in run.log
    assert job_resources(4242) == NOTHING_LEFT


def test_a_script_ignoring_sigterm_is_killed_by_docker_stop(
        world: World, provider: DockerExecutorProvider) -> None:
    body = payload(world, ["trap '' TERM", "echo started", "bash -c 'trap \"\" TERM; sleep 300'"],
                   variables=NO_GIT)
    run = start_docker_job(world, provider, body, docker_runner(world))
    wait_until("the script to start", lambda: "started\n" in run.log)
    run.build.cancel(graceful=False)
    assert run.wait().state == "canceled"
    assert job_resources(4242) == NOTHING_LEFT


def test_abort_during_a_helper_stage_stops_it_and_leaves_nothing_behind(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world)
    runner.pre_get_sources_script = "echo in-the-helper; sleep 300"
    body = payload(world, ["echo never-runs"])
    run = start_docker_job(world, provider, body, runner)
    wait_until("the helper stage to start", lambda: "in-the-helper\n" in run.log)
    run.build.cancel(graceful=False)
    assert run.wait().state == "canceled"
    assert "never-runs\n" not in run.log
    assert job_resources(4242) == NOTHING_LEFT


def test_get_sources_timeout_kills_the_helper_stage(world: World, provider: DockerExecutorProvider) -> None:
    from runnerfleet.config import Duration

    runner = docker_runner(world)
    runner.pre_get_sources_script = "echo in-the-helper; sleep 300"
    runner.get_sources_timeout = Duration.from_seconds(3)
    result, log = run_docker_job(world, provider, ["echo never-runs"], runner=runner)
    assert result.state == "failed" and result.failure_reason == "job_execution_timeout"
    assert "get sources timeout: exceeded timeout of 3s" in log
    assert "never-runs\n" not in log
    assert job_resources(4242) == NOTHING_LEFT
