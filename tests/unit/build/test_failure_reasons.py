"""What failure_reason GitLab receives, given the reasons the job says GitLab supports (§5.11)."""

from __future__ import annotations

import pytest

from runnerfleet.build import FailureReason, map_failure_reason

CURRENT_GITLAB = ["unknown_failure", "script_failure", "runner_system_failure", "job_execution_timeout",
                  "runner_configuration_error", "runner_external_dependency_failure", "runner_interrupted",
                  "image_pull_failure"]


@pytest.mark.parametrize("reason", ["script_failure", "runner_system_failure", "job_execution_timeout"])
def test_the_three_basic_reasons_are_sent_even_when_gitlab_lists_none(reason: str) -> None:
    assert map_failure_reason(reason, []) == reason


@pytest.mark.parametrize(("reason", "expected"), [
    ("image_pull_failure", "runner_system_failure"),
    ("runner_configuration_error", "script_failure"),
    ("runner_external_dependency_failure", "runner_system_failure"),
    ("runner_interrupted", "unknown_failure"),
    ("job_canceled", "unknown_failure"),
    ("unknown_failure", "unknown_failure"),
])
def test_reasons_an_old_gitlab_lacks_fall_back_as_gitlab_runner_maps_them(reason: str, expected: str) -> None:
    assert map_failure_reason(reason, []) == expected


@pytest.mark.parametrize("reason", ["image_pull_failure", "runner_configuration_error",
                                    "runner_external_dependency_failure", "runner_interrupted"])
def test_reasons_a_current_gitlab_lists_are_sent_unchanged(reason: str) -> None:
    assert map_failure_reason(reason, CURRENT_GITLAB) == reason


def test_job_canceled_is_internal_and_never_sent_even_if_listed_elsewhere() -> None:
    assert map_failure_reason(FailureReason.JOB_CANCELED.value, CURRENT_GITLAB) == "unknown_failure"


def test_no_reason_is_a_script_failure() -> None:
    assert map_failure_reason(None, CURRENT_GITLAB) == "script_failure"
    assert map_failure_reason("", []) == "script_failure"


def test_a_listed_fallback_is_used_only_when_gitlab_lists_it() -> None:
    # runner_system_failure is always accepted, so image pulls map to it even with a short list.
    assert map_failure_reason("image_pull_failure", ["script_failure"]) == "runner_system_failure"
