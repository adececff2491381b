"""`update_job` and `patch_trace` against the coordinator's `PUT /jobs/:id` and PATCH trace."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from runnerfleet.errors import TransportError
from runnerfleet.gitlab import patch_trace, request_job, update_job
from tests.integration.jobnet.conftest import Setup


def _take_job(s: Setup, **enqueue: Any) -> tuple[int, str]:
    queued = s.admin.enqueue(**enqueue)
    got = request_job(s.client, s.runner_token, system_id=s.system_id, info=s.info,
                      last_update=None)
    assert got.payload is not None and got.payload["id"] == queued["id"]
    return int(queued["id"]), str(got.payload["token"])


def _crc(data: bytes) -> str:
    return f"crc32:{zlib.crc32(data):08x}"


def test_running_keepalive_is_accepted_with_the_job_status(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    result = update_job(setup.client, job_id, token, state="running", info=setup.info)
    assert result.accepted and not result.abort and not result.cancel_requested
    assert result.status == 200 and result.job_status == "running"
    put = setup.admin.requests("PUT", f"jobs/{job_id}")[-1]
    assert put["json"]["state"] == "running" and put["json"]["output"] == {}
    assert token not in str(put)  # the coordinator's log shows the job token shortened only


def test_patches_append_at_offsets_and_the_final_update_is_applied(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    first = patch_trace(setup.client, job_id, token, b"hello ", 0)
    assert first.ok and first.sent_until == 6 and first.job_status == "running"
    second = patch_trace(setup.client, job_id, token, b"world\n", first.sent_until)
    assert second.ok and second.sent_until == 12
    sent = setup.admin.requests("PATCH", f"jobs/{job_id}/trace")
    assert [e["headers"]["content-range"] for e in sent] == ["0-5", "6-11"]
    assert all(e["query"].get("debug_trace") == "false" for e in sent)
    log = b"hello world\n"
    final = update_job(setup.client, job_id, token, state="failed", info=setup.info,
                       failure_reason="script_failure", exit_code=3, checksum=_crc(log),
                       bytesize=len(log))
    # GitLab echoes the job's new status; gitlab-runner files "failed" under abort: both end.
    assert final.status == 200 and final.job_status == "failed" and final.abort
    job = setup.admin.job(job_id)
    assert job["status"] == "failed"
    assert job["failure_reason"] == "script_failure" and job["exit_code"] == 3
    assert job["trace"].encode() == log and job["output_checksum"] == _crc(log)


def test_a_patch_at_the_wrong_offset_gets_gitlabs_length_back(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    assert patch_trace(setup.client, job_id, token, b"0123456789", 0).ok
    result = patch_trace(setup.client, job_id, token, b"abc", 4)
    assert result.range_mismatch and result.status == 416 and result.sent_until == 10
    assert setup.admin.job(job_id)["trace"] == "0123456789"


def test_success_is_applied_and_a_finished_job_refuses_more(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    done = update_job(setup.client, job_id, token, state="success", info=setup.info,
                      checksum=_crc(b""), bytesize=0)
    assert done.status == 200 and done.accepted and done.job_status == "success"
    late = patch_trace(setup.client, job_id, token, b"late", 0)
    assert late.abort and late.status == 403 and late.job_status == "success"
    again = update_job(setup.client, job_id, token, state="running", info=setup.info)
    assert again.abort and again.status == 403


def test_an_unknown_state_is_a_400_to_retry(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    result = update_job(setup.client, job_id, token, state="bogus", info=setup.info)
    assert result.status == 400 and result.failed


def test_a_wrong_job_token_is_forbidden_and_aborts(setup: Setup) -> None:
    job_id, _ = _take_job(setup)
    assert update_job(setup.client, job_id, "glcbt-wrong", state="running",
                      info=setup.info).abort
    assert patch_trace(setup.client, job_id, "glcbt-wrong", b"x", 0).abort


def test_cancel_shows_in_job_status(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    setup.admin.cancel(job_id)  # the runner advertised cancel_gracefully → canceling
    result = patch_trace(setup.client, job_id, token, b"still running\n", 0)
    assert result.ok and result.cancel_requested and result.job_status == "canceling"
    update = update_job(setup.client, job_id, token, state="running", info=setup.info)
    assert update.cancel_requested and not update.abort


def test_a_dropped_update_is_a_transport_error(setup: Setup) -> None:
    job_id, token = _take_job(setup)
    setup.admin.fault(f"jobs/{job_id}", method="PUT", kind="drop")
    with pytest.raises(TransportError) as err:
        update_job(setup.client, job_id, token, state="running", info=setup.info)
    assert token not in str(err.value)


def test_an_empty_patch_is_refused_before_sending(setup: Setup) -> None:
    with pytest.raises(ValueError, match="empty"):
        patch_trace(setup.client, 1, "glcbt-x", b"", 0)
