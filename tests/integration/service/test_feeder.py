"""The feeder and requeues: a runner that just got a job is asked again by the next free worker."""

from __future__ import annotations

import signal

from tests.integration.service.conftest import World

# With one feeder pass per hour only the first pass can happen during a test: every later job
# request proves it came from a requeue, not from waiting for a `check_interval` tick.
NO_TICKS = 3600


def test_queued_jobs_are_drained_by_freed_workers_without_waiting_for_a_feeder_tick(
        world: World) -> None:
    world.write_config({"token": world.admin.create_runner()}, concurrent=2,
                       check_interval=NO_TICKS)
    jobs = [world.admin.enqueue(f"echo job {i}") for i in range(6)]
    runner = world.run()
    results = [world.admin.finished(job_id) for job_id in jobs]
    assert [r["status"] for r in results] == ["success"] * 6
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
    polls = world.admin.requests("POST", "jobs/request")
    # Both workers were busy when the second job arrived, so its requeue waited for the first
    # worker to free up: one request per job, back to back, then the one that found the queue
    # empty (it ends the chain; the feeder's next pass would be an hour later).
    assert [p["status"] for p in polls] == [201] * 6 + [204]


def test_strict_check_interval_asks_only_on_the_feeders_ticks(world: World) -> None:
    world.write_config({"token": world.admin.create_runner(), "strict_check_interval": True},
                       concurrent=2, check_interval=NO_TICKS)
    first, second = world.admin.enqueue("echo first"), world.admin.enqueue("echo second")
    runner = world.run()
    assert world.admin.finished(first)["status"] == "success"
    runner.wait_line(rf"Removed job from processing list.*job={first}")
    runner.signal(signal.SIGQUIT)
    assert runner.wait() == 0
    assert [p["status"] for p in world.admin.requests("POST", "jobs/request")] == [201]
    assert world.admin.job(second)["status"] == "pending"
