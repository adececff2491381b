"""Job failure reasons and BuildError, the error that carries a job's outcome (reason + exit code)."""

from __future__ import annotations

from enum import StrEnum

from runnerfleet.errors import RunnerfleetError


class FailureReason(StrEnum):
    """The failure reasons gitlab-runner may report (engine spec §5.11); `JOB_CANCELED` is internal."""

    SCRIPT_FAILURE = "script_failure"
    RUNNER_SYSTEM_FAILURE = "runner_system_failure"
    JOB_EXECUTION_TIMEOUT = "job_execution_timeout"
    IMAGE_PULL_FAILURE = "image_pull_failure"
    UNKNOWN_FAILURE = "unknown_failure"
    RUNNER_CONFIGURATION_ERROR = "runner_configuration_error"
    RUNNER_EXTERNAL_DEPENDENCY_FAILURE = "runner_external_dependency_failure"
    RUNNER_INTERRUPTED = "runner_interrupted"
    JOB_CANCELED = "job_canceled"


class BuildError(RunnerfleetError):
    """A job problem whose outcome is known: `str()` is the line after "Job failed: ".

    `failure_reason` is what the runner reports to GitLab (before mapping to the reasons GitLab
    supports); `exit_code` is the script's exit status when a stage exited non-zero, else 0.
    Errors that are not BuildErrors are system failures.
    """

    def __init__(
        self,
        message: str,
        *,
        failure_reason: FailureReason = FailureReason.SCRIPT_FAILURE,
        exit_code: int = 0,
    ) -> None:
        self.failure_reason = failure_reason
        self.exit_code = exit_code
        super().__init__(message)

    def wrap(self, prefix: str = "", suffix: str = "") -> BuildError:
        """The same outcome with more context around the message (Go's `fmt.Errorf("...%w...")`)."""
        return BuildError(f"{prefix}{self}{suffix}", failure_reason=self.failure_reason,
                          exit_code=self.exit_code)
