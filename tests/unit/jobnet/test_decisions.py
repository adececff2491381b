"""The streamer's decisions: chunking, interval, force-send and final-update back-off."""

from __future__ import annotations

import pytest

from runnerfleet.gitlab.jobs import job_update_result, trace_patch_result
from runnerfleet.trace.streamer import (
    PatchOutcome,
    UpdateOutcome,
    capped_interval,
    dynamic_force_send_interval,
    final_update_backoff,
    next_chunk_size,
    patch_outcome,
    update_outcome,
)


def test_chunks_are_what_is_new_capped_at_one_mib() -> None:
    mib = 1024 * 1024
    assert next_chunk_size(0, 5 * mib, mib) == mib
    assert next_chunk_size(4 * mib, 5 * mib + 3, mib) == mib
    assert next_chunk_size(5 * mib, 5 * mib + 3, mib) == 3
    assert next_chunk_size(7, 7, mib) == 0
    assert next_chunk_size(9, 7, mib) == 0  # GitLab ahead of the runner: nothing to send


def test_interval_follows_gitlab_but_is_capped_at_15_minutes() -> None:
    assert capped_interval(3.0, None) == 3.0
    assert capped_interval(3.0, 0.0) == 3.0
    assert capped_interval(3.0, -5.0) == 3.0
    assert capped_interval(3.0, 60.0) == 60.0
    assert capped_interval(60.0, 3.0) == 3.0
    assert capped_interval(3.0, 86400.0) == 900.0


def test_dynamic_force_send_is_four_intervals_between_30s_and_30min() -> None:
    assert dynamic_force_send_interval(3.0) == 30.0
    assert dynamic_force_send_interval(60.0) == 240.0
    assert dynamic_force_send_interval(900.0) == 1800.0


def test_final_update_backoff_doubles_from_one_second_to_the_cap() -> None:
    assert [final_update_backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 32, 64]
    assert final_update_backoff(30) == 3600.0
    assert final_update_backoff(5, maximum=5.0) == 5.0


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (202, {}, PatchOutcome.OK),
        (202, {"Job-Status": "canceling"}, PatchOutcome.OK),
        (202, {"Job-Status": "canceled"}, PatchOutcome.ABORT),
        (403, {}, PatchOutcome.ABORT),
        (404, {}, PatchOutcome.NOT_FOUND),
        (416, {"Range": "0-3"}, PatchOutcome.RANGE_MISMATCH),
        (502, {}, PatchOutcome.FAILED),
        (400, {}, PatchOutcome.FAILED),
    ],
)
def test_patch_decisions(status: int, headers: dict[str, str], expected: PatchOutcome) -> None:
    assert patch_outcome(trace_patch_result(status, headers, 0, 10)) is expected


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {"Job-Status": "success"}, UpdateOutcome.DONE),
        (200, {"Job-Status": "failed"}, UpdateOutcome.ABORT),
        (200, {"Job-Status": "canceled"}, UpdateOutcome.ABORT),
        (202, {"X-GitLab-Trace-Update-Interval": "1"}, UpdateOutcome.AGAIN),
        (412, {}, UpdateOutcome.AGAIN),
        (403, {"Job-Status": "canceled"}, UpdateOutcome.ABORT),
        (404, {}, UpdateOutcome.ABORT),
        (400, {}, UpdateOutcome.FAILED),
        (409, {}, UpdateOutcome.FAILED),
        (503, {}, UpdateOutcome.FAILED),
    ],
)
def test_final_update_decisions(status: int, headers: dict[str, str], expected: UpdateOutcome) -> None:
    assert update_outcome(job_update_result(status, headers)) is expected
