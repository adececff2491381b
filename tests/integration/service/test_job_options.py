"""A job using options this runner does not support fails at once, as gitlab-runner fails it."""

from __future__ import annotations

import signal

from tests.integration.service.conftest import World


def test_unsupported_executor_options_fail_the_job_before_it_runs_with_exit_code_3(
        world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    image = {"name": "alpine", "executor_opts": {"docker": {"platform": "amd64", "blammo": 1},
                                                 "powpow": {}}}
    job_id = world.admin.enqueue("touch ran-anyway", payload_overrides={"image": image})
    job = world.admin.finished(job_id)
    assert (job["status"], job["failure_reason"], job["exit_code"]) == (
        "failed", "runner_system_failure", 3)
    lines = [line.split(" ", 2)[-1] for line in job["trace"].splitlines()]  # after timestamps
    assert lines == [
        'Unsupported "image" options [powpow] for "executor_opts"; supported options are '
        "[docker kubernetes]",
        'Unsupported "image" options [blammo] for "docker executor"; supported options are '
        "[platform user]",
    ]
    assert job["updates"] == ["failed"]  # never told GitLab it was running
    assert not list(world.workdir.rglob("ran-anyway"))
    fine = world.admin.enqueue("echo next job")
    assert world.admin.finished(fine)["status"] == "success"
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_run_steps_together_with_script_fail_the_job_with_gitlab_runners_reason(
        world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    run = '[{"name":"hello","script":"echo hi"}]'
    job_id = world.admin.enqueue("echo script too", payload_overrides={"run": run})
    job = world.admin.finished(job_id)
    assert (job["status"], job["failure_reason"], job["exit_code"]) == (
        "failed", "runner_system_failure", 3)
    assert job["trace"].endswith("the `run` and `script` keywords cannot be used together\n")
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
