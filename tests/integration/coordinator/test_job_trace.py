"""`PATCH /jobs/:id/trace`: Content-Range, append at the stored length, 416, limits."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import job, patch, put, take_job


def test_missing_content_range_is_400(coordinator: RunningCoordinator,
                                      api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = api.patch(f"/jobs/{p['id']}/trace", content=b"x", headers={"JOB-TOKEN": p["token"]})
    assert (r.status_code, r.json()) == (400, {"message": "400 Missing header Content-Range"})


def test_appends_answer_202_with_range_status_and_interval(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    r = patch(api, p, b"hello ", 0)
    assert r.status_code == 202
    assert r.headers["range"] == "0-6"
    assert r.headers["job-status"] == "running"
    assert r.headers["x-gitlab-trace-update-interval"] == "3"
    r = patch(api, p, b"world\n", 6)
    assert (r.status_code, r.headers["range"]) == (202, "0-12")
    assert job(coordinator, p["id"])["trace"] == "hello world\n"


def test_patch_past_the_end_is_416_with_the_stored_length(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    patch(api, p, b"abc", 0)
    r = patch(api, p, b"xyz", 10)
    assert (r.status_code, r.json()) == (416, {"message": "416 Range Not Satisfiable"})
    assert r.headers["range"] == "0-3"
    r = patch(api, p, b"bcd", 1)  # overlapping resend: nothing is written
    assert (r.status_code, r.headers["range"]) == (416, "0-3")
    assert job(coordinator, p["id"])["trace"] == "abc"


def test_job_token_is_hidden_inside_the_stored_log(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    line = f"token={p['token']}\n".encode()
    assert patch(api, p, line, 0).status_code == 202
    trace = job(coordinator, p["id"])["trace"]
    assert p["token"] not in trace
    assert trace == "token=" + "x" * len(p["token"]) + "\n"


def test_debug_trace_query_marks_the_log(coordinator: RunningCoordinator,
                                         api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = api.patch(f"/jobs/{p['id']}/trace", params={"debug_trace": "true"}, content=b"+ set -x\n",
                  headers={"JOB-TOKEN": p["token"], "Content-Range": "0-8"})
    assert r.status_code == 202
    assert job(coordinator, p["id"])["debug_trace"] is True


def test_trace_size_limit_drops_the_job_and_answers_403(
    start: Callable[..., RunningCoordinator]
) -> None:
    coordinator = start("--long-poll-timeout", "0", "--trace-size-limit", "10")
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False) as api:
        p = take_job(coordinator, api)
        assert patch(api, p, b"12345", 0).status_code == 202
        r = patch(api, p, b"678901", 5)
        assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
        seen = job(coordinator, p["id"])
        assert (seen["status"], seen["failure_reason"]) == ("failed", "trace_size_exceeded")
        r = put(api, p, state="success")
        assert (r.status_code, r.headers["job-status"]) == (403, "failed")


def test_trace_update_interval_is_configurable(
    start: Callable[..., RunningCoordinator]
) -> None:
    coordinator = start("--long-poll-timeout", "0", "--trace-update-interval", "60")
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False) as api:
        p = take_job(coordinator, api)
        assert patch(api, p, b"x", 0).headers["x-gitlab-trace-update-interval"] == "60"


def test_trace_token_may_come_from_the_query(coordinator: RunningCoordinator,
                                             api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = api.patch(f"/jobs/{p['id']}/trace", params={"token": p["token"]}, content=b"q",
                  headers={"Content-Range": "0-0"})
    assert r.status_code == 202


def test_the_stored_checksum_covers_exactly_the_stored_bytes_also_after_a_restart(
    tmp_path: Path, start: Callable[..., RunningCoordinator]
) -> None:
    data_dir = tmp_path / "state"
    first = start("--long-poll-timeout", "0", data_dir=data_dir)
    with httpx.Client(base_url=first.url + "/api/v4", trust_env=False) as api:
        p = take_job(first, api)
        assert patch(api, p, b"one\n", 0).status_code == 202
        assert patch(api, p, b"refused\n", 99).status_code == 416  # not stored
        assert patch(api, p, f"token {p['token']}\n".encode(), 4).status_code == 202
        stored = job(first, p["id"])
        log = f"one\ntoken {'x' * len(p['token'])}\n".encode()
        assert stored["trace"].encode() == log
        assert stored["trace_checksum"] == f"crc32:{zlib.crc32(log):08x}"
    first.stop()

    second = start("--long-poll-timeout", "0", data_dir=data_dir)
    with httpx.Client(base_url=second.url + "/api/v4", trust_env=False) as api:
        assert patch(api, p, b"two\n", len(log)).status_code == 202
        assert put(api, p, state="success").status_code == 200
        stored = job(second, p["id"])
        whole = log + b"two\n"
        assert stored["trace"].encode() == whole
        assert stored["trace_checksum"] == f"crc32:{zlib.crc32(whole):08x}"
