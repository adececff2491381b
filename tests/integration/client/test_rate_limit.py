"""429 handling as gitlab-runner ≤ 18.2 does it, against injected coordinator faults."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from runnerfleet.errors import ApiError, RateLimitError
from runnerfleet.gitlab import GitLabClient
from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.client.helpers import NOW, FakeTime, api_requests, http_date

RUNNERS = "/api/v4/runners"


def client_with(coordinator: RunningCoordinator, fake: FakeTime) -> GitLabClient:
    return GitLabClient(coordinator.url, env={}, clock=fake.clock, sleep=fake.sleep)


def register(client: GitLabClient, coordinator: RunningCoordinator) -> int:
    return client.register_runner(coordinator.registration_token, description="rl",
                                  run_untagged=True).id


def test_valid_reset_time_waits_exactly_until_then_and_resends_the_body(
    coordinator: RunningCoordinator,
) -> None:
    reset = http_date(NOW + timedelta(seconds=7))
    coordinator.inject_fault(path=RUNNERS, status=429, body="Retry later\n",
                             content_type="text/plain", count=2,
                             headers={"RateLimit-ResetTime": reset, "Retry-After": "7"})
    fake = FakeTime()
    with client_with(coordinator, fake) as client:
        assert register(client, coordinator) > 0
    # The first wait reaches the reset time; the clock then stands at it, so the second
    # 429 with the same reset time is retried at once.
    assert fake.sleeps == [7.0]
    entries = api_requests(coordinator.requests_log(), "POST", "runners")
    assert [e["status"] for e in entries] == [429, 429, 201]
    assert all(e["json"]["description"] == "rl" for e in entries)


def test_reset_time_in_the_past_retries_at_once(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429,
                             headers={"RateLimit-ResetTime": http_date(NOW - timedelta(hours=1))})
    fake = FakeTime()
    with client_with(coordinator, fake) as client:
        register(client, coordinator)
    assert fake.sleeps == []
    assert len(api_requests(coordinator.requests_log(), "POST", "runners")) == 2


def test_unparseable_reset_time_waits_the_one_minute_fallback(
    coordinator: RunningCoordinator, caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429,
                             headers={"RateLimit-ResetTime": "in a little while"})
    fake = FakeTime()
    with caplog.at_level(logging.WARNING, logger="runnerfleet.gitlab"), \
            client_with(coordinator, fake) as client:
        register(client, coordinator)
    assert fake.sleeps == [60.0]
    [warning] = [r for r in caplog.records if r.name == "runnerfleet.gitlab"]
    assert "in a little while" in warning.getMessage() and "60.0 s" in warning.getMessage()
    assert coordinator.registration_token not in caplog.text


def test_lowercase_header_name_is_honoured(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429,
                             headers={"ratelimit-resettime": http_date(NOW + timedelta(seconds=3))})
    fake = FakeTime()
    with client_with(coordinator, fake) as client:
        register(client, coordinator)
    assert fake.sleeps == [3.0]


def test_429_without_reset_time_is_returned_after_one_request(
    coordinator: RunningCoordinator,
) -> None:
    coordinator.inject_fault(
        path=RUNNERS, status=429, headers={"Retry-After": "60"},
        body=json.dumps({"message": "Executing database migrations. Please retry later."}),
    )
    fake = FakeTime()
    with client_with(coordinator, fake) as client, pytest.raises(ApiError) as err:
        register(client, coordinator)
    assert not isinstance(err.value, RateLimitError)
    assert err.value.status == 429
    assert err.value.api_message == "Executing database migrations. Please retry later."
    assert "after 60 s" in str(err.value)
    assert fake.sleeps == []
    assert len(api_requests(coordinator.requests_log(), "POST", "runners")) == 1


def test_request_core_returns_the_429_to_its_caller_unchanged(
    coordinator: RunningCoordinator,
) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429, body="Retry later\n",
                             content_type="text/plain")
    with client_with(coordinator, FakeTime()) as client:
        response = client.request("POST", "/runners", json={"token": "x"})
    assert response.status_code == 429 and response.text == "Retry later\n"


def test_gives_up_after_five_rate_limited_attempts(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429, count=50,
                             headers={"RateLimit-ResetTime": "garbage"})
    fake = FakeTime()
    with client_with(coordinator, fake) as client, pytest.raises(RateLimitError) as err:
        register(client, coordinator)
    assert len(api_requests(coordinator.requests_log(), "POST", "runners")) == 5
    # gitlab-runner also waits after the fifth 429 before reporting the failure.
    assert fake.sleeps == [60.0] * 5
    message = str(err.value)
    assert "gave up due to rate limit after 5 attempts" in message
    assert "POST" in message and "/api/v4/runners" in message and "garbage" in message
    assert err.value.status == 429 and err.value.endpoint.endswith("/api/v4/runners")


def test_rate_limit_streak_ends_with_a_success(coordinator: RunningCoordinator) -> None:
    coordinator.inject_fault(path=RUNNERS, status=429, count=4,
                             headers={"RateLimit-ResetTime": "garbage"})
    fake = FakeTime()
    with client_with(coordinator, fake) as client:
        register(client, coordinator)
    assert fake.sleeps == [60.0] * 4
    assert [e["status"] for e in api_requests(coordinator.requests_log(), "POST", "runners")] \
        == [429, 429, 429, 429, 201]
