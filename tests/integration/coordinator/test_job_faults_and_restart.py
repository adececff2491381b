"""Drop/delay faults on job endpoints, stuck and timed-out jobs, and jobs across restarts."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import (
    admin_post,
    enqueue,
    job,
    patch,
    put,
    request_job,
    take_job,
)

Start = Callable[..., RunningCoordinator]


def _fault(coordinator: RunningCoordinator, **body: Any) -> None:
    r = admin_post(coordinator, "/-/faults", **body)
    assert r.status_code == 201, r.text


def _wait_for_status(coordinator: RunningCoordinator, job_id: int, status: str) -> dict[str, Any]:
    """Poll the admin view until the housekeeper changed the job (bounded, not a timing assert)."""
    deadline = time.monotonic() + 60
    while True:
        seen = job(coordinator, job_id)
        if seen["status"] == status or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def test_drop_fault_closes_the_connection_without_an_answer_once(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    path = f"/api/v4/jobs/{p['id']}/trace"
    _fault(coordinator, kind="drop", method="PATCH", path=path)
    with pytest.raises(httpx.TransportError):
        patch(api, p, b"lost", 0)
    assert job(coordinator, p["id"])["trace"] == ""
    assert patch(api, p, b"kept", 0).status_code == 202
    log = coordinator.requests_log()
    assert [(e["method"], e["status"]) for e in log if e["path"] == path] == [
        ("PATCH", None), ("PATCH", 202)]


def test_drop_after_body_reads_the_request_then_closes(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    _fault(coordinator, kind="drop", after_body=True, method="PUT",
           path=f"/api/v4/jobs/{p['id']}", count=2)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            put(api, p, state="success")
    assert job(coordinator, p["id"])["status"] == "running"  # the body was never acted on
    dropped = [e for e in coordinator.requests_log() if e["status"] is None]
    assert [e["json"]["state"] for e in dropped] == ["success", "success"]
    assert put(api, p, state="success").status_code == 200


def test_delay_fault_answers_normally_afterwards(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    created = enqueue(coordinator)
    _fault(coordinator, kind="delay", seconds=0.3, method="POST", path="/api/v4/jobs/request")
    r = request_job(api, token)
    assert r.status_code == 201 and r.json()["id"] == created["id"]


def test_status_fault_on_a_job_endpoint_keeps_the_job_running(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    _fault(coordinator, method="PUT", path=f"/api/v4/jobs/{p['id']}", status=502,
           body="bad gateway", content_type="text/plain")
    r = put(api, p, state="success")
    assert (r.status_code, r.text) == (502, "bad gateway")
    assert job(coordinator, p["id"])["status"] == "running"


def test_fault_kind_is_validated(coordinator: RunningCoordinator) -> None:
    r = admin_post(coordinator, "/-/faults", kind="explode", method="GET", path="/api/v4/x")
    assert (r.status_code, r.json()) == (400, {"error": "kind does not have a valid value"})
    r = admin_post(coordinator, "/-/faults", kind="delay", method="GET", path="/api/v4/x")
    assert (r.status_code, r.json()) == (400, {"error": "seconds is missing"})


def test_running_job_without_updates_is_dropped_as_stuck(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "0", "--stuck-timeout", "1")
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False) as api:
        p = take_job(coordinator, api)
        seen = _wait_for_status(coordinator, p["id"], "failed")
        assert seen["failure_reason"] == "stuck_or_timeout_failure"
        r = put(api, p, state="running")
        assert (r.status_code, r.headers["job-status"]) == (403, "failed")


def test_job_past_its_timeout_and_slack_is_dropped_by_the_server(start: Start) -> None:
    coordinator = start("--long-poll-timeout", "0", "--job-timeout-slack", "1")
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False) as api:
        p = take_job(coordinator, api, timeout=1)
        assert put(api, p, state="running").status_code == 200
        seen = _wait_for_status(coordinator, p["id"], "failed")
        assert seen["failure_reason"] == "job_execution_server_timeout"


def test_restart_keeps_jobs_traces_and_tokens(tmp_path: Path, start: Start) -> None:
    data_dir = tmp_path / "state"
    first = start("--long-poll-timeout", "0", data_dir=data_dir)
    with httpx.Client(base_url=first.url + "/api/v4", trust_env=False) as api:
        p = take_job(first, api)
        assert patch(api, p, b"before restart\n", 0).status_code == 202
        waiting = enqueue(first, name="still queued")
    first.stop()

    second = start("--long-poll-timeout", "0", data_dir=data_dir)
    with httpx.Client(base_url=second.url + "/api/v4", trust_env=False) as api:
        r = patch(api, p, b"after restart\n", 15)
        assert (r.status_code, r.headers["range"]) == (202, "0-29")
        assert put(api, p, state="success").status_code == 200
        seen = job(second, p["id"])
        assert seen["trace"] == "before restart\nafter restart\n"
        assert seen["status"] == "success"
        token = second.create_runner()["token"]
        r = request_job(api, token)
        assert r.status_code == 201 and r.json()["id"] == waiting["id"]
        assert r.json()["id"] > p["id"]


def test_bad_job_flag_is_a_one_line_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runnerfleet.coordinator", "--stuck-timeout", "0",
         "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "runnerfleet coordinator: --long-poll-timeout, --trace-update-interval and"
        " --trace-size-limit must be >= 0; --stuck-timeout and --job-timeout-slack > 0")
