"""`runnerfleet run` takes jobs from the coordinator and leaves what GitLab would hold."""

from __future__ import annotations

import re
import signal

from tests.integration.service.conftest import World, wait_until


def test_a_job_runs_end_to_end_and_gitlab_holds_its_whole_log_and_success(world: World) -> None:
    token = world.admin.create_runner()
    world.write_config({"name": "e2e", "token": token})
    runner = world.run()
    job_id = world.admin.enqueue("echo hello from the job", "echo second line")
    job = world.admin.finished(job_id)
    assert job["status"] == "success", job["trace"]
    trace = job["trace"]
    assert "Running with runnerfleet" in trace and "(gitlab-runner 19.4.0 compatible)" in trace
    assert re.search(r"section_start:\d+:step_script\r", trace)
    assert re.search(r"section_end:\d+:step_script\r", trace)
    assert "hello from the job" in trace and "second line" in trace
    assert trace.rstrip().endswith("Job succeeded\x1b[0;m")
    # Timestamps are on by default, as in gitlab-runner.
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z 00O ", trace)
    # The final update carried the checksum and size of exactly what GitLab stored.
    assert job["output_checksum"] == job["trace_checksum"]
    assert job["output_bytesize"] == job["trace_bytesize"] == len(trace.encode())
    assert job["updates"][0] == "running" and job["updates"][-1] == "success"
    runner.wait_line(rf"Removed job from processing list.*job={job_id}")
    assert world.journal_records == []  # the journal forgets a job GitLab has the end of
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_failing_job_is_reported_with_script_failure_and_its_exit_code(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    job_id = world.admin.enqueue("echo about to fail", "exit 3",
                                 after_script=["echo after script ran with $CI_JOB_STATUS"])
    job = world.admin.finished(job_id)
    assert (job["status"], job["failure_reason"], job["exit_code"]) == ("failed", "script_failure", 3)
    assert "about to fail" in job["trace"]
    assert "after script ran with failed" in job["trace"]
    assert "ERROR: Job failed: exit status 3" in job["trace"]
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_ten_jobs_with_concurrent_4_all_succeed_and_never_share_a_build_dir(world: World) -> None:
    world.write_config({"token": world.admin.create_runner(), "request_concurrency": 4},
                       concurrent=4)
    runner = world.run()
    # A job fails if another job is in its directory at the same time.
    script = ["test ! -e .busy", "touch .busy", "sleep 1", "rm .busy",
              'echo "ids=$CI_CONCURRENT_ID/$CI_CONCURRENT_PROJECT_ID dir=$PWD"']
    jobs = [world.admin.enqueue(*script) for _ in range(10)]
    results = [world.admin.finished(job_id) for job_id in jobs]
    assert [r["status"] for r in results] == ["success"] * 10, [r["trace"] for r in results]
    ids = [re.search(r"ids=(\d+)/(\d+) dir=(\S+)", r["trace"]) for r in results]
    assert all(ids)
    # The smallest free id is taken, so with at most 4 jobs at once no id reaches 4.
    assert {int(m.group(1)) for m in ids if m} <= {0, 1, 2, 3}
    assert len({m.group(3) for m in ids if m}) > 1  # jobs ran side by side in their own dirs
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_runner_limit_caps_its_running_jobs(world: World) -> None:
    world.write_config({"token": world.admin.create_runner(), "limit": 2,
                        "request_concurrency": 4}, concurrent=4)
    runner = world.run()
    jobs = [world.admin.enqueue("sleep 1", 'echo "id=$CI_CONCURRENT_ID"') for _ in range(5)]
    results = [world.admin.finished(job_id) for job_id in jobs]
    assert [r["status"] for r in results] == ["success"] * 5
    assert {re.search(r"id=(\d)", r["trace"]).group(1) for r in results} <= {"0", "1"}  # type: ignore[union-attr]
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_jobs_of_several_runners_are_served_by_one_process(world: World) -> None:
    world.write_config({"name": "a", "token": world.admin.create_runner(tag_list=["a"],
                                                                        run_untagged=False)},
                       {"name": "b", "token": world.admin.create_runner(tag_list=["b"],
                                                                        run_untagged=False)},
                       concurrent=2)
    runner = world.run()
    a = world.admin.enqueue('echo "runner=$CI_RUNNER_DESCRIPTION"', tags=["a"])
    b = world.admin.enqueue('echo "runner=$CI_RUNNER_DESCRIPTION"', tags=["b"])
    assert world.admin.finished(a)["status"] == "success"
    assert world.admin.finished(b)["status"] == "success"
    wait_until("both jobs off the processing list",
               lambda: runner.output.count("Removed job from processing list") == 2)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_job_requests_send_back_gitlabs_last_update_for_long_polling(world: World) -> None:
    token = world.admin.create_runner()
    world.write_config({"token": token})
    runner = world.run()

    def polls() -> list[dict[str, object]]:
        return world.admin.requests("POST", "jobs/request")

    wait_until("three job requests", lambda: len(polls()) >= 3)
    bodies = [p["json"] for p in polls()]
    assert "last_update" not in bodies[0]  # nothing seen yet: the first request goes to "Rails"
    later = [b for b in bodies[1:] if isinstance(b, dict)]
    assert later and all(re.fullmatch(r"[0-9a-f]{32}", str(b.get("last_update"))) for b in later)
    assert all(b.get("system_id") for b in bodies if isinstance(b, dict))
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
