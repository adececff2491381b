"""`runnerfleet run-single`: one runner from flags or a config entry, --max-builds, --wait-timeout."""

from __future__ import annotations

import signal

from tests.integration.service.conftest import World


def test_max_builds_1_runs_one_job_and_exits_0(world: World) -> None:
    token = world.admin.create_runner()
    first = world.admin.enqueue("echo first job")
    second = world.admin.enqueue("echo second job")
    single = world.run_single("-u", world.coordinator.url, "-t", token, "--executor", "shell",
                              "--name", "single", "--max-builds", "1", "-c", str(world.config))
    assert single.wait() == 0
    assert "This runner has processed its build limit, so now exiting" in single.output
    job = world.admin.job(first)
    assert job["status"] == "success" and "first job" in job["trace"]
    assert " on single " in job["trace"]
    assert world.admin.job(second)["status"] == "pending"
    assert world.journal_records == []


def test_wait_timeout_exits_when_no_job_comes(world: World) -> None:
    token = world.admin.create_runner()
    single = world.run_single("--url", world.coordinator.url, "--token", token,
                              "--executor", "shell", "--wait-timeout", "1",
                              "-c", str(world.config))
    assert single.wait() == 0
    assert "This runner has not received a job in 1 seconds, so now exiting" in single.output


def test_a_runner_of_the_config_file_is_served_by_name(world: World) -> None:
    world.write_config({"name": "from-file", "token": world.admin.create_runner()},
                       {"name": "other", "token": "glrt-unused"})
    job_id = world.admin.enqueue("echo from the file runner")
    single = world.run_single("-c", str(world.config), "-r", "from-file", "--max-builds", "1")
    assert single.wait() == 0
    job = world.admin.job(job_id)
    assert job["status"] == "success" and " on from-file " in job["trace"]


def test_missing_token_or_unknown_executor_is_a_clear_error(world: World) -> None:
    missing = world.run_single("--url", world.coordinator.url, "--executor", "shell")
    assert missing.wait() == 1
    assert "Missing Token" in missing.output and "Traceback" not in missing.output
    unknown = world.run_single("--url", world.coordinator.url, "--token", "glrt-x",
                               "--executor", "kubernetes")
    assert unknown.wait() == 1
    assert 'Unknown executor: "kubernetes"' in unknown.output


def test_sigquit_finishes_the_current_job_then_exits(world: World) -> None:
    token = world.admin.create_runner()
    job_id = world.admin.enqueue("echo job started", "sleep 8", "echo job finished")
    single = world.run_single("-u", world.coordinator.url, "-t", token, "--executor", "shell",
                              "-c", str(world.config))
    world.wait_log("job started")
    single.signal(signal.SIGQUIT)
    assert single.wait() == 0
    assert "Requested quit, waiting for builds to finish" in single.output
    job = world.admin.job(job_id)
    assert job["status"] == "success" and "job finished" in job["trace"]


def test_sigterm_aborts_the_job_and_reports_it(world: World) -> None:
    token = world.admin.create_runner()
    job_id = world.admin.enqueue("echo job started", "sleep 120")
    single = world.run_single("-u", world.coordinator.url, "-t", token, "--executor", "shell",
                              "-c", str(world.config))
    world.wait_log("job started")
    single.signal(signal.SIGTERM)
    assert single.wait() == 0
    assert "Requested exit: terminated" in single.output
    job = world.admin.job(job_id)
    assert (job["status"], job["failure_reason"]) == ("failed", "runner_interrupted")
