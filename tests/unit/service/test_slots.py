"""limit / request_concurrency slots, adaptive request concurrency and concurrency ids (§4.2–4.4)."""

from __future__ import annotations

from runnerfleet.config import RunnerConfig
from runnerfleet.service.slots import BuildSlots, RunningJob


def _runner(token: str = "glrt-aaaaaaaaaaaa", **kw: object) -> RunnerConfig:
    runner = RunnerConfig(name="r", url="http://gitlab.example", token=token, executor="shell")
    for key, value in kw.items():
        setattr(runner, key, value)
    return runner


def test_limit_counts_running_jobs_per_token() -> None:
    slots = BuildSlots("s_000000000000")
    runner = _runner(limit=2)
    twin = _runner(limit=2, name="same token, other entry")
    assert slots.acquire_build(runner) and slots.acquire_build(twin)
    assert not slots.acquire_build(runner)
    slots.release_build(runner)
    assert slots.acquire_build(runner)
    assert slots.acquire_build(_runner("glrt-bbbbbbbbbbbb", limit=2))


def test_without_adaptive_concurrency_request_concurrency_is_the_hard_limit() -> None:
    slots = BuildSlots("s_x")
    runner = _runner(request_concurrency=3,
                     feature_flags={"FF_USE_ADAPTIVE_REQUEST_CONCURRENCY": False})
    assert [slots.acquire_request(runner) for _ in range(4)] == [True, True, True, False]
    counter = slots.counters()[runner.token]
    assert counter.exceeded == 1 and counter.used_limit == 3 and counter.hard_limit == 3


def test_adaptive_concurrency_starts_at_one_grows_on_jobs_and_halves_on_retries() -> None:
    slots = BuildSlots("s_x")
    runner = _runner(request_concurrency=4)
    assert slots.acquire_request(runner)
    assert not slots.acquire_request(runner)  # adaptive starts at 0 → one request at a time
    slots.release_request(runner, has_job=True, retried=False)
    assert slots.counters()[runner.token].adaptive_limit == 1.0  # clamped to [1, 4]
    for _ in range(3):
        assert slots.acquire_request(runner)
        slots.release_request(runner, has_job=True, retried=False)
    assert round(slots.counters()[runner.token].adaptive_limit, 3) == 1.331
    assert slots.acquire_request(runner) and slots.acquire_request(runner)  # ceil(1.331) = 2
    assert not slots.acquire_request(runner)
    slots.release_request(runner, has_job=False, retried=True)
    slots.release_request(runner, has_job=False, retried=False)
    assert slots.counters()[runner.token].adaptive_limit == 1.0
    for _ in range(40):
        slots.acquire_request(runner)
        slots.release_request(runner, has_job=True, retried=False)
    assert slots.counters()[runner.token].adaptive_limit == 4.0  # never above request_concurrency


def test_concurrency_ids_are_the_smallest_free_per_token_and_per_project() -> None:
    slots = BuildSlots("s_x")
    a, b = _runner(), _runner("glrt-bbbbbbbbbbbb")
    jobs = [RunningJob(job_id=i, runner=r, project_id=p, url="")
            for i, (r, p) in enumerate([(a, 1), (a, 1), (a, 2), (b, 1)])]
    for job in jobs:
        slots.add_job(job)
    assert [(j.concurrent_id, j.concurrent_project_id) for j in jobs] == [
        (0, 0), (1, 1), (2, 0), (0, 0)]
    slots.remove_job(jobs[0])
    again = RunningJob(job_id=9, runner=a, project_id=1, url="")
    slots.add_job(again)
    assert (again.concurrent_id, again.concurrent_project_id) == (0, 0)
