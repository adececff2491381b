"""Maps a job's failure reason onto the reasons the GitLab instance accepts (engine spec §5.11)."""

from __future__ import annotations

from collections.abc import Iterable

from runnerfleet.executors.errors import FailureReason

ALWAYS_SUPPORTED = (
    FailureReason.SCRIPT_FAILURE,
    FailureReason.RUNNER_SYSTEM_FAILURE,
    FailureReason.JOB_EXECUTION_TIMEOUT,
)
# Newer reasons carved out of older ones fall back to the older one when GitLab lacks them.
COMPATIBILITY = {
    FailureReason.IMAGE_PULL_FAILURE: FailureReason.RUNNER_SYSTEM_FAILURE,
    FailureReason.RUNNER_CONFIGURATION_ERROR: FailureReason.SCRIPT_FAILURE,
    FailureReason.RUNNER_EXTERNAL_DEPENDENCY_FAILURE: FailureReason.RUNNER_SYSTEM_FAILURE,
}
_MAX_MAPPING_DEPTH = 10


def map_failure_reason(reason: str | None, supported_by_gitlab: Iterable[str]) -> str:
    """The reason to send in `PUT /jobs/:id` given the job's `features.failure_reasons`.

    No reason is a script failure; a supported one is sent as is; an unsupported one follows the
    compatibility map; anything else (including the internal `job_canceled`) is `unknown_failure`.
    """
    if not reason:
        return FailureReason.SCRIPT_FAILURE.value
    supported = {*supported_by_gitlab, *(r.value for r in ALWAYS_SUPPORTED)}
    if reason in supported:
        return reason
    current = reason
    for _ in range(_MAX_MAPPING_DEPTH):
        try:
            mapped = COMPATIBILITY.get(FailureReason(current))
        except ValueError:
            mapped = None
        if mapped is None:
            break
        if mapped.value in supported:
            return mapped.value
        current = mapped.value
    return FailureReason.UNKNOWN_FAILURE.value
