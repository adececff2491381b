"""The error raised for a job payload the runner cannot use."""

from __future__ import annotations

from runnerfleet.errors import RunnerfleetError


class JobPayloadError(RunnerfleetError):
    """A `/jobs/request` body is malformed; `str()` is one line naming the field path.

    The runner fails such a job with `runner_system_failure` and shows this line.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"job payload: {path}: {problem}" if path else f"job payload: {problem}")
