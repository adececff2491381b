"""What GitLab's answers to the job calls mean, row by row of API spec §7.5 and §8.3."""

from __future__ import annotations

import pytest

from runnerfleet.gitlab.jobs import (
    content_range,
    header,
    is_abort,
    job_update_result,
    parse_range_end,
    parse_update_interval,
    trace_patch_result,
    update_body,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0-1024", 1024),
        ("0-0", 0),
        ("5-77", 77),  # only the number after '-' counts, as gitlab-runner reads it
        ("0-+12", 12),  # Go's Atoi accepts a sign
        (None, 0),
        ("", 0),
        ("bytes 0-12/13", 0),  # three '-'-less forms and units are not GitLab's shape → 0
        ("0-12-13", 0),
        ("0-abc", 0),
        ("0-", 0),
        ("0- 12", 0),
        ("12", 0),
        ("0-١٢", 0),  # non-ASCII digits are not digits to Go
    ],
)
def test_range_header_gives_the_length_gitlab_holds_or_zero(value: str | None, expected: int) -> None:
    assert parse_range_end(value) == expected


def test_content_range_has_an_inclusive_end_and_no_unit() -> None:
    assert content_range(0, 1024) == "0-1023"
    assert content_range(1024, 1) == "1024-1024"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), ("60", 60.0), ("0", 0.0), (None, None), ("", None), ("3s", None), ("1.5", None)],
)
def test_update_interval_header_is_whole_seconds(value: str | None, expected: float | None) -> None:
    assert parse_update_interval(value) == expected


def test_headers_are_read_case_insensitively_like_go() -> None:
    assert header({"job-status": "canceling"}, "Job-Status") == "canceling"
    assert header({"JOB-STATUS": "running"}, "Job-Status") == "running"
    assert header({}, "Job-Status") == ""


@pytest.mark.parametrize(
    ("status", "job_status", "expected"),
    [
        (202, "canceled", True),
        (202, "failed", True),
        (403, "", True),
        (403, "success", True),
        (200, "running", False),
        (202, "canceling", False),
        (404, "", False),
        (500, "", False),
    ],
)
def test_abort_means_job_over_on_gitlabs_side_or_403(status: int, job_status: str, expected: bool) -> None:
    assert is_abort(status, job_status) is expected


# -- PUT /jobs/:id (§7.5) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "job_status", "accepted", "abort", "retry", "failed"),
    [
        (200, "running", True, False, False, False),
        (200, "", True, False, False, False),
        (200, "failed", False, True, False, False),  # final failed update echoed → abort (harmless)
        (200, "canceled", False, True, False, False),
        (202, "running", False, False, True, False),
        (412, "running", False, False, True, False),
        (403, "canceled", False, True, False, False),
        (403, "", False, True, False, False),
        (404, "", False, True, False, False),
        (400, "running", False, False, False, True),
        (409, "", False, False, False, True),
        (500, "", False, False, False, True),
        (502, "", False, False, False, True),
        (429, "", False, False, False, True),
        (202, "failed", False, True, False, False),
    ],
)
def test_update_answers_follow_gitlab_runner_order(
    status: int, job_status: str, accepted: bool, abort: bool, retry: bool, failed: bool
) -> None:
    headers = {"Job-Status": job_status} if job_status else {}
    result = job_update_result(status, headers)
    assert (result.accepted, result.abort, result.retry, result.failed) == (
        accepted, abort, retry, failed,
    )
    assert result.status == status
    assert result.job_status == job_status


def test_update_answer_carries_interval_and_cancel_request() -> None:
    result = job_update_result(
        202, {"Job-Status": "canceling", "X-GitLab-Trace-Update-Interval": "8"}
    )
    assert result.cancel_requested and result.retry and not result.abort
    assert result.update_interval == 8.0
    assert not result.trace_reset
    assert job_update_result(412, {}).trace_reset


def test_update_body_is_gitlab_runners_with_omitempty() -> None:
    info = {"name": "gitlab-runner"}
    assert update_body("tok", state="running", info=info) == {
        "info": info, "token": "tok", "state": "running", "output": {},
    }
    assert update_body(
        "tok", state="failed", info=info, failure_reason="script_failure", exit_code=2,
        checksum="crc32:0000abcd", bytesize=17,
    ) == {
        "info": info, "token": "tok", "state": "failed", "failure_reason": "script_failure",
        "checksum": "crc32:0000abcd", "output": {"checksum": "crc32:0000abcd", "bytesize": 17},
        "exit_code": 2,
    }
    # Go's omitempty: a zero exit code and a zero size are never sent.
    assert update_body(
        "tok", state="success", info=info, exit_code=0, checksum="crc32:00000000", bytesize=0
    ) == {
        "info": info, "token": "tok", "state": "success", "checksum": "crc32:00000000",
        "output": {"checksum": "crc32:00000000"},
    }


# -- PATCH /jobs/:id/trace (§8.3) --------------------------------------------------------------


def test_patch_202_acknowledges_up_to_the_end_of_the_chunk() -> None:
    result = trace_patch_result(
        202, {"Job-Status": "running", "Range": "0-150", "X-GitLab-Trace-Update-Interval": "60"},
        100, 50,
    )
    assert result.ok and not result.failed and not result.range_mismatch
    assert result.sent_until == 150
    assert result.update_interval == 60.0


def test_patch_416_resyncs_to_gitlabs_range() -> None:
    result = trace_patch_result(416, {"Range": "0-42"}, 100, 50)
    assert result.range_mismatch and not result.ok and not result.failed
    assert result.sent_until == 42
    assert trace_patch_result(416, {}, 100, 50).sent_until == 0


@pytest.mark.parametrize(
    ("status", "job_status", "outcome"),
    [
        (202, "canceled", "abort"),
        (416, "failed", "abort"),
        (403, "", "abort"),
        (404, "", "not_found"),
        (500, "", "failed"),
        (502, "running", "failed"),
        (400, "", "failed"),
        (409, "", "failed"),
        (202, "canceling", "ok"),
    ],
)
def test_patch_answers_follow_gitlab_runner_order(status: int, job_status: str, outcome: str) -> None:
    headers = {"Job-Status": job_status} if job_status else {}
    result = trace_patch_result(status, headers, 10, 5)
    flags = {
        "abort": result.abort, "not_found": result.not_found, "failed": result.failed,
        "ok": result.ok,
    }
    assert [k for k, v in flags.items() if v] == [outcome]
    if outcome != "ok":
        assert result.sent_until == 10  # nothing acknowledged: the same bytes go again
    assert result.cancel_requested is (job_status == "canceling")
