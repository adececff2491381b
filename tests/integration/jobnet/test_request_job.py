"""`request_job` against the coordinator's `POST /jobs/request` (API spec §4, §5)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from runnerfleet.errors import ApiError, TransportError
from runnerfleet.gitlab import GitLabClient, JobRequest, request_job
from runnerfleet.job import JobPayload
from tests.integration.jobnet.conftest import PATIENCE, Setup

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _ask(s: Setup, last_update: str | None = None, token: str | None = None) -> JobRequest:
    return request_job(
        s.client, token or s.runner_token, system_id=s.system_id, info=s.info,
        last_update=last_update,
    )


def test_an_enqueued_job_is_handed_out_with_its_payload(setup: Setup) -> None:
    queued = setup.admin.enqueue(name="build", stage="test", script=["echo hi"])
    got = _ask(setup)
    assert got.status == 201 and got.healthy and not got.retried
    assert got.payload is not None
    payload = JobPayload.from_json(got.payload)
    assert payload.id == queued["id"]
    assert payload.token == queued["token"]
    assert setup.admin.job(queued["id"])["status"] == "running"


def test_no_job_is_204_with_a_queue_value_that_is_echoed_while_nothing_changed(setup: Setup) -> None:
    first = _ask(setup)
    assert first.status == 204 and first.payload is None and first.healthy
    assert first.last_update is not None and HEX32.match(first.last_update)
    again = _ask(setup, last_update=first.last_update)
    assert (again.status, again.last_update, again.payload) == (204, first.last_update, None)
    sent = setup.admin.requests("POST", "jobs/request")[-1]["json"]
    assert sent["last_update"] == first.last_update
    assert sent["system_id"] == setup.system_id
    assert sent["info"]["features"]["cancel_gracefully"] is True


def test_an_enqueue_changes_the_queue_value_and_the_next_request_gets_the_job(setup: Setup) -> None:
    first = _ask(setup)
    queued = setup.admin.enqueue()
    got = _ask(setup, last_update=first.last_update)
    assert got.status == 201 and got.payload is not None and got.payload["id"] == queued["id"]


def test_a_held_long_poll_returns_when_a_job_is_enqueued(
    make_setup: Callable[..., Setup],
) -> None:
    # A hold far longer than the test may take: the request can only come back early because
    # the enqueue woke it.
    s = make_setup("--long-poll-timeout", "3600")
    first = _ask(s)
    assert first.status == 204 and first.last_update
    answers: list[JobRequest] = []
    held = threading.Thread(target=lambda: answers.append(_ask(s, last_update=first.last_update)))
    held.start()
    try:
        # Give the request a moment to reach the hold (an answer is logged only once sent, so
        # the hold itself cannot be observed); if it arrives after the enqueue, it simply gets
        # the job at once, which the end of the test accepts too.
        held.join(timeout=1.0)
        assert held.is_alive(), "the request was answered before any job existed"
        queued = s.admin.enqueue()
        held.join(timeout=PATIENCE)
        assert not held.is_alive(), "the held request was not woken by the enqueue"
    finally:
        held.join(timeout=PATIENCE)
    woken = answers[0]
    if woken.status == 204:
        # Workhorse's bare 204 after a change: the stored value is kept, the next request
        # goes to the queue and gets the job.
        assert woken.last_update == first.last_update
        got = _ask(s, last_update=woken.last_update)
    else:
        got = woken
    assert got.status == 201 and got.payload is not None and got.payload["id"] == queued["id"]


def test_an_expired_hold_is_a_bare_204_and_the_runner_keeps_its_queue_value(
    make_setup: Callable[..., Setup],
) -> None:
    s = make_setup("--long-poll-timeout", "1")
    first = _ask(s)
    assert first.status == 204 and first.last_update
    held = _ask(s, last_update=first.last_update)
    assert (held.status, held.payload, held.healthy) == (204, None, True)
    assert held.last_update == first.last_update
    queued = s.admin.enqueue()
    got = _ask(s, last_update=held.last_update)
    assert got.status == 201 and got.payload is not None and got.payload["id"] == queued["id"]


def test_an_unknown_runner_token_is_unhealthy(setup: Setup) -> None:
    got = _ask(setup, token="glrt-not-a-runner-token")
    assert (got.status, got.healthy, got.payload) == (403, False, None)


@pytest.mark.parametrize("status", [409, 422, 500, 502, 503])
def test_conflicts_and_server_errors_are_no_job_but_healthy(setup: Setup, status: int) -> None:
    setup.admin.fault("jobs/request", method="POST", status=status,
                      body=f'{{"message":"{status}"}}')
    got = _ask(setup, last_update="0" * 32)
    assert (got.status, got.healthy, got.payload) == (status, True, None)
    assert got.last_update == "0" * 32  # no header: the runner keeps what it had


def test_a_201_that_is_not_json_is_an_api_error(setup: Setup) -> None:
    setup.admin.fault("jobs/request", method="POST", status=201, body="<html>proxy</html>",
                      content_type="text/html")
    with pytest.raises(ApiError) as err:
        _ask(setup)
    assert "not with JSON" in str(err.value)
    assert setup.runner_token not in str(err.value)


def test_a_rate_limited_request_is_sent_again_and_flagged_retried(setup: Setup) -> None:
    past = (datetime.now(UTC) - timedelta(seconds=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    setup.admin.fault("jobs/request", method="POST", status=429,
                      headers={"RateLimit-ResetTime": past, "Retry-After": "1"})
    queued = setup.admin.enqueue()
    got = _ask(setup)
    assert got.retried and got.status == 201
    assert got.payload is not None and got.payload["id"] == queued["id"]


def test_a_dropped_connection_is_a_transport_error(setup: Setup) -> None:
    setup.admin.fault("jobs/request", method="POST", kind="drop", after_body=True)
    with pytest.raises(TransportError) as err:
        _ask(setup)
    assert "jobs/request" in str(err.value)
    assert setup.runner_token not in str(err.value)


def test_nothing_listening_is_a_transport_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with GitLabClient(f"http://127.0.0.1:{port}") as client, pytest.raises(TransportError):
        request_job(client, "glrt-x", system_id="s_0123456789ab", info={}, last_update=None)
