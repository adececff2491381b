"""Long polling as Workhorse: hold while nothing changed, wake on a matching enqueue."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import enqueue, request_job

Start = Callable[..., RunningCoordinator]


def _client(coordinator: RunningCoordinator) -> httpx.Client:
    return httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False, timeout=120)


def _held(pool: ThreadPoolExecutor, coordinator: RunningCoordinator, token: str,
          last_update: str) -> Future[httpx.Response]:
    def ask() -> httpx.Response:
        with _client(coordinator) as c:
            return request_job(c, token, last_update=last_update)

    future = pool.submit(ask)
    time.sleep(0.5)  # let the request reach the server and start waiting
    return future


def test_first_request_passes_through_with_the_polling_header(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "60")
    token = coordinator.create_runner()["token"]
    with _client(coordinator) as api:
        r = request_job(api, token)
    assert r.status_code == 204
    assert r.headers["gitlab-ci-builds-polling"] == "yes"
    assert len(r.headers["x-gitlab-last-update"]) == 32


def test_held_request_ends_as_a_bare_204_when_nothing_changes(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "1")
    token = coordinator.create_runner()["token"]
    with _client(coordinator) as api:
        value = request_job(api, token).headers["x-gitlab-last-update"]
        r = request_job(api, token, last_update=value)
    assert r.status_code == 204
    assert r.headers["gitlab-ci-builds-polling"] == "yes"
    assert "x-gitlab-last-update" not in r.headers  # Workhorse's own answer, not Rails'


def test_held_request_returns_the_job_enqueued_while_it_was_held(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "60")
    token = coordinator.create_runner()["token"]
    with _client(coordinator) as api:
        value = request_job(api, token).headers["x-gitlab-last-update"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = _held(pool, coordinator, token, value)
        assert not future.done()  # held: nothing to answer yet
        created = enqueue(coordinator)
        r = future.result(timeout=60)
    assert r.status_code == 201
    assert r.json()["id"] == created["id"]
    assert r.headers["gitlab-ci-builds-polling"] == "yes"


def test_enqueue_for_another_runner_does_not_wake_the_hold(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "60")
    token = coordinator.create_runner(tag_list="linux")["token"]
    with _client(coordinator) as api:
        value = request_job(api, token).headers["x-gitlab-last-update"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = _held(pool, coordinator, token, value)
        enqueue(coordinator, tags=["windows"])  # this runner cannot take it
        time.sleep(0.5)
        assert not future.done()
        wanted = enqueue(coordinator, tags=["linux"])
        r = future.result(timeout=60)
    assert r.status_code == 201 and r.json()["id"] == wanted["id"]


def test_editing_the_runner_wakes_its_hold(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "60")
    runner = coordinator.create_runner(tag_list="linux")
    waiting = enqueue(coordinator, tags=["docker"])
    with _client(coordinator) as api:
        value = request_job(api, runner["token"]).headers["x-gitlab-last-update"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = _held(pool, coordinator, runner["token"], value)
        assert not future.done()
        with coordinator._admin() as admin:
            admin.put(f"/api/v4/runners/{runner['id']}", json={"tag_list": ["linux", "docker"]})
        r = future.result(timeout=60)
    assert r.status_code == 201 and r.json()["id"] == waiting["id"]


def test_stopping_the_coordinator_releases_held_requests(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "120")
    token = coordinator.create_runner()["token"]
    with _client(coordinator) as api:
        value = request_job(api, token).headers["x-gitlab-last-update"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = _held(pool, coordinator, token, value)
        coordinator.stop()
        assert coordinator.process.returncode == 0
        try:
            r = future.result(timeout=60)
            assert r.status_code == 204
        except httpx.TransportError:
            pass  # the connection closed with the server: also a release
