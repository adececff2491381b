"""JobResult: what the pipeline tells the service loop to report to GitLab when a job ends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

JobState = Literal["success", "failed", "canceled"]


@dataclass(frozen=True)
class JobResult:
    """The end of one job.

    `state`: `success`, `failed`, or `canceled` (cancelled or aborted via GitLab; GitLab has no
    such final state from runners: send `failed` with `failure_reason`, see `api_state`).
    `failure_reason`: already mapped onto the job's `features.failure_reasons` (None on success).
    `exit_code`: the failing script's exit status when GitLab should get one, else None.
    `duration`: seconds `Build.run()` took. `message`: the "Job failed" line's text ("" on success).
    """

    state: JobState
    failure_reason: str | None
    exit_code: int | None
    duration: float
    message: str = ""

    @property
    def api_state(self) -> Literal["success", "failed"]:
        """The `state` to send in the final `PUT /jobs/:id`."""
        return "success" if self.state == "success" else "failed"
