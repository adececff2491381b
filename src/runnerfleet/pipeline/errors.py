"""The error a .gitlab-ci.yml raises: GitLab's lint lines, one per problem."""

from __future__ import annotations

from runnerfleet.errors import RunnerfleetError


class PipelineError(RunnerfleetError):
    """The configuration is not valid; `problems` holds GitLab's lint lines (job and key path first)."""

    def __init__(self, problems: list[str] | str, *, path: str | None = None) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.path = path
        super().__init__("\n".join(self.problems))
