"""Stopping `runnerfleet run`: SIGQUIT drains, SIGTERM/SIGINT abort and report, SIGKILL is recovered."""

from __future__ import annotations

import signal

from tests.fixtures.coordinator import start_coordinator
from tests.integration.service.conftest import World, wait_until


def test_sigquit_lets_the_running_job_finish_then_exits_0(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    job_id = world.admin.enqueue("echo job started", "sleep 8", "echo job finished")
    world.wait_log("job started")
    runner.signal(signal.SIGQUIT)
    runner.wait_line("Starting graceful shutdown, waiting for builds to finish")
    later = world.admin.enqueue("echo never")  # no new jobs are asked for
    assert runner.wait() == 0
    job = world.admin.job(job_id)
    assert job["status"] == "success"
    assert "job finished" in job["trace"] and "Job succeeded" in job["trace"]
    assert world.admin.job(later)["status"] == "pending"
    assert "Can exit now!" in runner.output


def test_sigterm_aborts_the_running_job_reports_it_with_its_log_tail_and_exits_0(
    world: World,
) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    job_id = world.admin.enqueue("echo job started", "sleep 120",
                                 after_script=["echo after script"])
    world.wait_log("job started")
    runner.signal(signal.SIGTERM)
    runner.wait_line("Starting forceful shutdown")
    assert runner.wait() == 0  # the job stopped within shutdown_timeout
    job = world.admin.job(job_id)
    assert (job["status"], job["failure_reason"]) == ("failed", "runner_interrupted")
    assert "job started" in job["trace"]
    assert "ERROR: Job failed: aborted: terminated" in job["trace"]  # the tail reached GitLab
    assert job["output_checksum"] == job["trace_checksum"]
    assert world.journal_records == []


def test_a_second_signal_during_a_drain_exits_at_once_with_1_and_the_journal_keeps_the_job(
    world: World,
) -> None:
    world.write_config({"token": world.admin.create_runner()}, shutdown_timeout=120)
    runner = world.run()
    # The job ignores SIGTERM, so the forceful shutdown cannot end it in time.
    job_id = world.admin.enqueue("trap '' TERM", "echo job started", "sleep 120")
    world.wait_log("job started")
    runner.signal(signal.SIGQUIT)
    runner.wait_line("Starting graceful shutdown")
    runner.signal(signal.SIGINT)
    runner.wait_line("Starting forceful shutdown")
    runner.signal(signal.SIGTERM)
    assert runner.wait() == 1
    assert "forced exit with stop signal: terminated" in runner.output
    assert world.journal_records == [job_id]


def test_after_sigkill_the_next_start_reports_the_job_failed_with_its_complete_log(
    world: World,
) -> None:
    world.write_config({"token": world.admin.create_runner()})
    job_id = world.admin.enqueue("echo first line", "echo marker-before-kill", "sleep 120")
    # The coordinator refuses every log patch, so only the runner's journal has the log.
    world.admin.fault(f"jobs/{job_id}/trace", method="PATCH", status=502, count=10_000)
    runner = world.run()
    world.wait_log("marker-before-kill")
    assert world.admin.job(job_id)["trace"] == ""
    runner.proc.kill()
    runner.wait()
    world.admin.clear_faults()
    restarted = world.run()
    job = world.admin.finished(job_id)
    assert (job["status"], job["failure_reason"]) == ("failed", "runner_system_failure")
    assert "Running with runnerfleet" in job["trace"]
    assert "first line" in job["trace"] and "marker-before-kill" in job["trace"]
    assert "ERROR: Job failed (system failure): the runner process stopped" in job["trace"]
    assert job["output_checksum"] == job["trace_checksum"]
    wait_until("the journal to be emptied", lambda: world.journal_records == [])
    restarted.wait_line(f"Reported the unfinished job {job_id} as failed")
    restarted.signal(signal.SIGQUIT)
    assert restarted.wait() == 0


def test_a_job_completes_when_the_coordinator_restarts_while_it_runs(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    job_id = world.admin.enqueue("echo before restart", "sleep 8", "echo after restart")
    world.wait_log("before restart")
    listen = world.coordinator.url.removeprefix("http://")
    world.coordinator.stop()
    world.coordinator = start_coordinator(world.coordinator.data_dir, "--long-poll-timeout", "2",
                                          listen=listen)
    job = world.admin.finished(job_id)
    assert job["status"] == "success", job["trace"]
    assert "before restart" in job["trace"] and "after restart" in job["trace"]
    assert job["output_checksum"] == job["trace_checksum"]
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
