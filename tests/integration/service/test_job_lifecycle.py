"""Cancel, malformed payloads, resuming a half-sent log after a crash, pool resizing, token rotation."""

from __future__ import annotations

import re
import signal
from datetime import UTC, datetime

import httpx
import tomlkit

from tests.integration.service.conftest import World, free_port, wait_until


def test_a_job_canceled_in_gitlab_runs_its_after_script_and_ends_canceled(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    # The job keeps printing: GitLab's answer to each log patch carries its cancel request.
    job_id = world.admin.enqueue("echo job started", "for i in $(seq 120); do echo tick; sleep 1; done",
                                 after_script=["echo after script saw $CI_JOB_STATUS"])
    world.admin.running_with(job_id, "job started")
    world.admin.cancel(job_id)  # the runner advertised cancel_gracefully: GitLab says canceling
    job = world.admin.finished(job_id)
    assert job["status"] == "canceled"
    assert "after script saw canceled" in job["trace"]
    assert job["output_checksum"] == job["trace_checksum"]  # the tail was sent before the end
    runner.wait_line(f"Removed job from processing list.*job={job_id}")
    assert world.journal_records == []
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_malformed_payload_fails_that_job_and_the_runner_keeps_serving(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    broken = world.admin.enqueue("echo never", payload_overrides={"steps": "not a list"})
    job = world.admin.finished(broken)
    assert (job["status"], job["failure_reason"]) == ("failed", "runner_system_failure")
    error_lines = [line for line in job["trace"].splitlines() if "ERROR: Job failed" in line]
    assert len(error_lines) == 1 and "steps" in error_lines[0]
    fine = world.admin.enqueue("echo next job")
    assert world.admin.finished(fine)["status"] == "success"
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_after_sigkill_only_the_unsent_tail_is_sent_and_the_log_is_whole(world: World) -> None:
    world.write_config({"token": world.admin.create_runner()})
    runner = world.run()
    job_id = world.admin.enqueue("echo part-one", "sleep 5", "echo part-two", "sleep 120")
    world.admin.running_with(job_id, "part-one")  # this much reached GitLab
    world.wait_log("part-two")
    runner.proc.kill()
    runner.wait()
    sent_before = world.admin.job(job_id)["trace_bytesize"]
    restarted = world.run()
    job = world.admin.finished(job_id)
    trace = job["trace"]
    assert (job["status"], job["failure_reason"]) == ("failed", "runner_system_failure")
    assert trace.count("part-one") == 2 and trace.count("part-two") == 2  # command + output
    assert trace.index("part-two") > trace.index("part-one")
    assert job["trace_bytesize"] > sent_before
    assert job["output_checksum"] == job["trace_checksum"]
    patches = world.admin.requests("PATCH", f"jobs/{job_id}/trace")
    # The restarted runner's first patch from 0 was refused with the length GitLab holds.
    assert any(p["status"] == 416 for p in patches)
    restarted.signal(signal.SIGQUIT)
    assert restarted.wait() == 0


def test_concurrent_grows_and_shrinks_the_worker_pool_on_reload(world: World) -> None:
    entry = {"token": world.admin.create_runner()}
    world.write_config(entry, concurrent=1)
    address = f"127.0.0.1:{free_port()}"
    runner = world.run("--listen-address", address)
    runner.wait_line("Metrics server listening")

    def slots() -> float:
        text = httpx.get(f"http://{address}/metrics", trust_env=False, timeout=10).text
        match = re.search(r"^gitlab_runner_worker_slots_number (\S+)$", text, re.M)
        return float(match.group(1)) if match else -1.0

    wait_until("1 worker", lambda: slots() == 1.0)
    world.write_config(entry, concurrent=3)
    runner.signal(signal.SIGHUP)
    wait_until("3 workers", lambda: slots() == 3.0)
    world.write_config(entry, concurrent=2)
    runner.signal(signal.SIGHUP)
    wait_until("2 workers", lambda: slots() == 2.0)
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0


def test_a_token_is_rotated_at_three_quarters_of_its_lifetime_and_saved(world: World) -> None:
    world.admin.settings(runner_token_expiration_interval=8)
    created = world.admin.create_runner_full()
    old = created["token"]
    expires = datetime.fromisoformat(created["token_expires_at"].replace("Z", "+00:00"))
    world.write_config({"token": old, "token_obtained_at": datetime.now(UTC),
                        "token_expires_at": expires})
    runner = world.run()

    def new_token() -> str | None:
        token = str(tomlkit.parse(world.config.read_text())["runners"][0]["token"])  # type: ignore[index]
        return token if token != old else None

    rotated = wait_until("the token to be rotated", new_token)
    assert rotated.startswith("glrt-")
    runner.wait_line("Runner token reset and config saved")
    assert old not in runner.output and rotated not in runner.output
    job_id = world.admin.enqueue("echo with the new token")
    assert world.admin.finished(job_id)["status"] == "success"
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
