"""A pipeline's status from its jobs' statuses, as `Gitlab::Ci::Status::Composite` computes it."""

from __future__ import annotations

import pytest

from runnerfleet.coordinator.job_store import Job
from runnerfleet.coordinator.pipelines import CiJob, composite_status


def _ci(status: str, *, allow_failure: bool = False, retried: bool = False) -> CiJob:
    job = Job(id=1, pipeline_id=1, project_id=1, name="j", stage="test", ref="main",
              ref_type="branch", protected=False, sha=None, before_sha="0" * 40, tag_list=[],
              timeout=3600, spec={}, token="t", status=status, failure_reason=None,
              exit_code=None, runner_id=None, runner_manager_id=None, system_xid=None,
              debug_trace=False, output_checksum=None, output_bytesize=None, pending_state=None,
              pending_state_at=None, updates=[], created_at=0.0, started_at=None,
              finished_at=None, updated_at=0.0)
    return CiJob(job, "on_success", allow_failure, None, 0, retried)


@pytest.mark.parametrize(("statuses", "expected"), [
    (["success", "scheduled"], "scheduled"),
    (["scheduled"], "scheduled"),
    (["manual", "scheduled"], "manual"),
    (["running", "scheduled"], "running"),
    (["created", "skipped"], "pending"),
    (["created"], "created"),
    (["canceled", "success"], "canceled"),
    (["failed", "canceled"], "failed"),
    (["skipped"], "skipped"),
    (["success", "created"], "running"),
])
def test_pipeline_status_follows_gitlabs_composite_order(statuses: list[str],
                                                          expected: str) -> None:
    assert composite_status([_ci(s) for s in statuses]) == expected


def test_jobs_allowed_to_fail_count_as_passed_with_warnings_when_failed_or_canceled() -> None:
    jobs = [_ci("success"), _ci("canceled", allow_failure=True), _ci("failed", allow_failure=True)]
    assert composite_status(jobs) == "success"


def test_a_manual_job_allowed_to_fail_is_ignored_and_retried_jobs_do_not_count() -> None:
    assert composite_status([_ci("success"), _ci("manual", allow_failure=True)]) == "success"
    assert composite_status([_ci("failed", retried=True), _ci("success")]) == "success"
