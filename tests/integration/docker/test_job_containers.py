"""Jobs through Build on a real dockerd: build and helper containers, stdin scripts, exit codes, cleanup."""

from __future__ import annotations

import pytest

from runnerfleet.executors.docker import DockerExecutorProvider
from tests.integration.build.helpers import World, payload
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    build_test_image,
    docker_runner,
    job_resources,
    run_docker_job,
)

pytestmark = pytest.mark.integration


def test_sources_are_fetched_in_the_helper_and_the_script_runs_in_the_job_image(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world)
    runner.pre_get_sources_script = "command -v runnerfleet"
    result, log = run_docker_job(world, provider, [
        "cat README", "command -v runnerfleet || echo no runnerfleet here", "pwd", "cat /etc/debian_version"],
        runner=runner)
    assert result.state == "success", log
    assert "Using Docker executor with image runnerfleet/debian:bookworm ..." in log
    # get_sources ran in the helper image (runnerfleet installed), the script in the job image.
    assert "/usr/local/bin/runnerfleet\n" in log
    assert "no runnerfleet here\n" in log
    assert "hello from the repo\n" in log
    assert f"\n/builds{str(world.bare).removesuffix('.git')}\n" in log
    assert job_resources(4242) == NOTHING_LEFT


def test_a_failing_script_fails_the_job_with_the_containers_exit_code(
        world: World, provider: DockerExecutorProvider) -> None:
    result, log = run_docker_job(world, provider, ["echo to-stdout", "echo to-stderr >&2", "exit 3"],
                                 variables=NO_GIT)
    assert result.state == "failed"
    assert result.failure_reason == "script_failure" and result.exit_code == 3
    assert "to-stdout\n" in log and "to-stderr\n" in log
    assert "ERROR: Job failed: exit code 3" in log
    assert job_resources(4242) == NOTHING_LEFT


def test_the_image_entrypoint_wraps_the_script_unless_the_job_overrides_it(
        world: World, provider: DockerExecutorProvider) -> None:
    image = build_test_image("entrypoint")
    script = ["echo prepared=${PREPARED_BY_ENTRYPOINT:-no}"]
    result, log = run_docker_job(world, provider, script, variables=NO_GIT, image={"name": image})
    assert result.state == "success", log
    assert f"Using Docker executor with image {image} ..." in log
    assert "prepared=yes\n" in log

    result, log = run_docker_job(world, provider, script, variables=NO_GIT,
                                 image={"name": image, "entrypoint": [""]})
    assert result.state == "success", log
    assert "prepared=no\n" in log


def test_the_build_directory_is_shared_by_helper_and_build_container_and_per_job_with_clone(
        world: World, provider: DockerExecutorProvider) -> None:
    clone = [{"key": "GIT_STRATEGY", "value": "clone"}]
    script = ["ls", "echo made-by-job > built.txt", "cat built.txt"]
    first, log = run_docker_job(world, provider, script, variables=clone)
    assert first.state == "success", log
    assert "README\n" in log and "made-by-job\n" in log
    # With clone a new job starts from an empty builds volume: the checkout is fresh again.
    second, log = run_docker_job(world, provider, ["test ! -e built.txt && echo fresh-volume"],
                                 variables=clone)
    assert second.state == "success", log
    assert "Created fresh repository." in log and "fresh-volume\n" in log


def test_with_fetch_the_next_job_fetches_into_the_kept_checkout(
        world: World, provider: DockerExecutorProvider) -> None:
    fetch = [{"key": "GIT_STRATEGY", "value": "fetch"}]
    first, log = run_docker_job(world, provider, ["git rev-parse --git-dir"], variables=fetch)
    assert first.state == "success", log
    assert "Created fresh repository." in log
    second, log = run_docker_job(world, provider, ["cat README"], variables=fetch)
    assert second.state == "success", log
    assert "Reinitialized existing Git repository" in log and "Created fresh repository." not in log
    assert job_resources(4242) == NOTHING_LEFT  # the kept volume is the project's, not the job's


def test_a_script_larger_than_the_socket_buffers_goes_through_stdin(
        world: World, provider: DockerExecutorProvider) -> None:
    lines = [f"echo line-{i:05d}-{'x' * 60}" for i in range(3000)]
    result, log = run_docker_job(world, provider, [*lines, "echo all-done"], variables=NO_GIT)
    assert result.state == "success"
    assert "line-02999-" in log and "all-done\n" in log


def test_no_image_anywhere_is_a_configuration_error(world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, image="")
    result, log = run_docker_job(world, provider, ["true"], runner=runner, variables=NO_GIT)
    assert result.state == "failed"
    assert result.failure_reason == "runner_configuration_error"
    assert "no Docker image specified to run the build in" in log


def test_labels_name_the_job_on_every_container(world: World, provider: DockerExecutorProvider) -> None:
    import docker as sdk

    from tests.integration.docker.helpers import start_docker_job, wait_until

    # A file variable is helper work (its cleanup stage), so the job has a helper container too.
    body = payload(world, ["echo started", "sleep 60"],
                   variables=[*NO_GIT, {"key": "A_FILE", "value": "x", "file": True}])
    run = start_docker_job(world, provider, body, docker_runner(world))
    wait_until("the script to start", lambda: "started\n" in run.log)
    client = sdk.from_env()
    try:
        containers = client.containers.list(all=True, filters={"label": "com.runnerfleet.job.id=4242"})
        kinds = sorted(c.labels["com.runnerfleet.type"] for c in containers)
        assert kinds == ["build", "helper"]
        for container in containers:
            assert container.labels["com.runnerfleet.managed"] == "true"
            assert container.labels["com.runnerfleet.runner.short_token"] == "abcdefghi"
            assert container.labels["com.runnerfleet.project.id"] == "7"
    finally:
        client.close()
    run.build.cancel(graceful=False)
    assert run.wait().state == "canceled"
    assert job_resources(4242) == NOTHING_LEFT


_COUNT_SLEEPERS = ("n=0; for f in /proc/[0-9]*/cmdline; do case \"$(tr '\\000' ' ' < $f 2>/dev/null)\" in "
                   "'sleep 1000'*) n=$((n+1));; esac; done; echo sleepers=$n")


def test_a_job_without_helper_work_runs_its_helper_stages_in_the_build_container_with_the_same_log(
        world: World, provider: DockerExecutorProvider) -> None:
    import docker as sdk

    from tests.integration.docker.helpers import start_docker_job, wait_until

    body = payload(world, ["echo started", "sleep 60"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, docker_runner(world))
    wait_until("the script to start", lambda: "started\n" in run.log)
    client = sdk.from_env()
    try:
        containers = client.containers.list(all=True, filters={"label": "com.runnerfleet.job.id=4242"})
        assert [c.labels["com.runnerfleet.type"] for c in containers] == ["build"]
        hostname = containers[0].attrs["Config"]["Hostname"]
    finally:
        client.close()
    run.build.cancel(graceful=False)
    assert run.wait().state == "canceled"
    log = run.log
    # The helper stages' lines, each in its own section, as with a helper container.
    prepare = log.index("section_start:", log.index("prepare_executor"))
    assert f"Running on {hostname} via " in log[prepare:log.index("section_end:", prepare)]
    sources = log.index("Getting source from Git repository")
    assert "Skipping Git repository setup" in log[sources:log.index("section_end:", sources)]
    assert job_resources(4242) == NOTHING_LEFT


def test_stages_sharing_the_build_container_keep_their_exit_codes_and_leave_no_process_behind(
        world: World, provider: DockerExecutorProvider) -> None:
    result, log = run_docker_job(
        world, provider, ["sleep 1000 &", _COUNT_SLEEPERS, "printf 'no newline'", "exit 3"],
        after_script=[_COUNT_SLEEPERS, "echo after with $CI_JOB_STATUS >&2"], variables=NO_GIT)
    assert (result.state, result.exit_code) == ("failed", 3), log
    # The script saw its background process; after_script (a new stage) did not, as after a
    # container run ends.
    assert log.count("sleepers=1\n") == 1 and log.count("sleepers=0\n") == 1
    assert "no newline" in log and "after with failed\n" in log
    assert "ERROR: Job failed: exit code 3" in log
    assert job_resources(4242) == NOTHING_LEFT
