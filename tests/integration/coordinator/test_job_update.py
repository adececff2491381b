"""`PUT /jobs/:id`: job-token auth, states, Job-Status, 202 back-off, failure reasons."""

from __future__ import annotations

import zlib

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import job, patch, put, take_job


def _crc(data: bytes) -> str:
    return f"crc32:{zlib.crc32(data):08x}"


def test_running_keepalive_then_success(coordinator: RunningCoordinator,
                                        api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = put(api, p, state="running")
    assert (r.status_code, r.text, r.headers["job-status"]) == (200, "200", "running")
    r = put(api, p, state="success")
    assert (r.status_code, r.headers["job-status"]) == (200, "success")
    seen = job(coordinator, p["id"])
    assert seen["status"] == "success" and seen["finished_at"] is not None
    assert seen["updates"] == ["running", "success"]
    assert seen["system_id"] == "s_000000000001"


def test_failed_keeps_reason_and_exit_code_and_maps_unknown_reasons(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    r = put(api, p, state="failed", failure_reason="script_failure", exit_code=2)
    assert (r.status_code, r.headers["job-status"]) == (200, "failed")
    seen = job(coordinator, p["id"])
    assert (seen["status"], seen["failure_reason"], seen["exit_code"]) == (
        "failed", "script_failure", 2)
    p = take_job(coordinator, api)
    put(api, p, state="failed", failure_reason="image_pull_failure")
    assert job(coordinator, p["id"])["failure_reason"] == "unknown_failure"


def test_unknown_state_is_400_with_job_status(coordinator: RunningCoordinator,
                                              api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = put(api, p, state="paused")
    assert (r.status_code, r.text, r.headers["job-status"]) == (400, "400", "running")
    r = put(api, p)
    assert r.status_code == 400
    assert job(coordinator, p["id"])["status"] == "running"


def test_finished_job_answers_403_with_job_status(coordinator: RunningCoordinator,
                                                  api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    put(api, p, state="success")
    r = put(api, p, state="running")
    assert r.status_code == 403
    assert r.json() == {"message": "403 Forbidden - Job is not processing on runner"}
    assert r.headers["job-status"] == "success"
    r = patch(api, p, b"late", 0)
    assert (r.status_code, r.headers["job-status"]) == (403, "success")


def test_wrong_token_or_unknown_job_is_plain_403(coordinator: RunningCoordinator,
                                                 api: httpx.Client) -> None:
    p = take_job(coordinator, api)
    r = api.put(f"/jobs/{p['id']}", json={"token": "glcbt-wrong", "state": "running"})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
    assert "job-status" not in r.headers
    r = api.put("/jobs/99999", json={"token": p["token"], "state": "running"})
    assert (r.status_code, r.json()) == (403, {"message": "403 Forbidden"})
    r = api.put(f"/jobs/{p['id']}", json={"state": "running"}, headers={"JOB-TOKEN": p["token"]})
    assert (r.status_code, r.json()) == (400, {"error": "token is missing"})


def test_final_update_waits_with_202_until_the_log_is_complete(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api)
    log = b"line one\nline two\n"
    assert patch(api, p, log[:9], 0).status_code == 202
    output = {"checksum": _crc(log), "bytesize": len(log)}
    r = put(api, p, state="success", checksum=output["checksum"], output=output)
    assert r.status_code == 202 and r.text == "202"
    assert r.headers["job-status"] == "running"
    assert r.headers["x-gitlab-trace-update-interval"] == "1"
    assert job(coordinator, p["id"])["status"] == "running"
    assert patch(api, p, log[9:], 9).status_code == 202
    r = put(api, p, state="success", checksum=output["checksum"], output=output)
    assert (r.status_code, r.headers["job-status"]) == (200, "success")
    assert "x-gitlab-trace-update-interval" not in r.headers
    seen = job(coordinator, p["id"])
    assert seen["trace"] == log.decode()
    assert seen["trace_checksum"] == seen["output_checksum"] == _crc(log)
    assert seen["trace_bytesize"] == len(log)
    assert seen["updates"] == ["success", "success"]


def test_update_heartbeats_the_runner(coordinator: RunningCoordinator, api: httpx.Client,
                                      admin: httpx.Client) -> None:
    runner = coordinator.create_runner()
    p = take_job(coordinator, api, runner=runner)
    put(api, p, state="running")
    assert admin.get(f"/runners/{runner['id']}").json()["status"] == "online"


def test_updates_keep_working_after_the_runner_was_deleted(
    coordinator: RunningCoordinator, api: httpx.Client, admin: httpx.Client
) -> None:
    runner = coordinator.create_runner()
    p = take_job(coordinator, api, runner=runner)
    assert admin.delete(f"/runners/{runner['id']}").status_code == 204
    assert patch(api, p, b"still here\n", 0).status_code == 202
    r = put(api, p, state="success")
    assert (r.status_code, r.headers["job-status"]) == (200, "success")
