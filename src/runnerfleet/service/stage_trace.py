"""A job's log buffer that also knows which build stage the job is in, for the job metrics.

gitlab-runner labels `gitlab_runner_jobs` with the build's current stage (`prepare_executor`,
`get_sources`, `step_script`, ...: common/build.go BuildStage) and observes each stage's duration
in `gitlab_runner_job_stage_duration_seconds`. The pipeline opens a log section named after each
stage (trace_sections, which GitLab always announces), so the section markers are where the
service learns the stage without reaching into the pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from runnerfleet.trace import TraceBuffer


class StageTrace(TraceBuffer):
    """`TraceBuffer` plus `stage` (the section open last; "" before the first one)."""

    def __init__(self, *args: Any, on_stage_end: Callable[[str, float], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stage = ""
        self._stage_started = 0.0
        self._on_stage_end = on_stage_end

    def section_start(self, name: str) -> None:
        super().section_start(name)
        self.stage = name
        self._stage_started = time.monotonic()

    def section_end(self, name: str) -> None:
        super().section_end(name)
        if name == self.stage and self._on_stage_end is not None:
            self._on_stage_end(name, time.monotonic() - self._stage_started)
