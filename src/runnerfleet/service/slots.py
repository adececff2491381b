"""Per-runner limit and request slots, adaptive request concurrency and concurrency ids (§4.2–4.4).

This is gitlab-runner's buildsHelper: counters are keyed by the runner token, so two
`[[runners]]` entries with the same token share them; the running jobs list gives each job the
smallest free `CI_CONCURRENT_ID` (per token) and `CI_CONCURRENT_PROJECT_ID` (per token and project).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runnerfleet.config import RunnerConfig

# Adaptive request concurrency factors (gitlab-runner commands/builds_helper.go).
INCREASE = 1.1  # a job was received
DECREASE = 0.95  # empty answer or failure
RETRIED_DECREASE = 0.5  # the request needed HTTP retries: server back-pressure
ADAPTIVE_FLAG = "FF_USE_ADAPTIVE_REQUEST_CONCURRENCY"


def adaptive_enabled(runner: RunnerConfig) -> bool:
    """On by default in current gitlab-runner; `[runners.feature_flags]` may turn it off."""
    return runner.feature_flags.get(ADAPTIVE_FLAG, True)


@dataclass
class RunnerCounter:
    """What one runner token is doing right now (also exported as metrics)."""

    name: str
    system_id: str
    builds: int = 0
    requests: int = 0
    hard_limit: int = 0
    adaptive_limit: float = 0.0
    used_limit: int = 0
    exceeded: int = 0


@dataclass(eq=False)
class RunningJob:
    """A job on the processing list; `stage` is read by metrics and /debug/jobs/list."""

    job_id: int
    runner: RunnerConfig
    project_id: int
    url: str
    concurrent_id: int = 0
    concurrent_project_id: int = 0
    started: float = field(default_factory=time.monotonic)
    stage: Callable[[], str] = field(default=lambda: "")
    state: str = "running"


class BuildSlots:
    """Thread-safe counters and the processing list of one runner process."""

    def __init__(self, system_id: str) -> None:
        self.system_id = system_id
        self._lock = threading.Lock()
        self._counters: dict[str, RunnerCounter] = {}
        self._jobs: list[RunningJob] = []

    def _counter(self, runner: RunnerConfig) -> RunnerCounter:
        counter = self._counters.get(runner.token)
        if counter is None:
            counter = RunnerCounter(name=runner.name, system_id=self.system_id)
            self._counters[runner.token] = counter
        return counter

    # -- limit slot ----------------------------------------------------------------------------
    def acquire_build(self, runner: RunnerConfig) -> bool:
        with self._lock:
            counter = self._counter(runner)
            if runner.limit > 0 and counter.builds >= runner.limit:
                return False
            counter.builds += 1
            return True

    def release_build(self, runner: RunnerConfig) -> None:
        with self._lock:
            counter = self._counter(runner)
            counter.builds = max(0, counter.builds - 1)

    # -- request slot --------------------------------------------------------------------------
    def acquire_request(self, runner: RunnerConfig) -> bool:
        with self._lock:
            counter = self._counter(runner)
            hard = runner.effective_request_concurrency
            counter.hard_limit = hard
            used = hard
            if adaptive_enabled(runner):
                used = min(max(1, math.ceil(counter.adaptive_limit)), hard)
            counter.used_limit = used
            if counter.requests >= used:
                counter.exceeded += 1
                return False
            counter.requests += 1
            return True

    def release_request(self, runner: RunnerConfig, *, has_job: bool, retried: bool) -> None:
        with self._lock:
            counter = self._counter(runner)
            if adaptive_enabled(runner):
                if retried:
                    counter.adaptive_limit *= RETRIED_DECREASE
                elif has_job:
                    counter.adaptive_limit *= INCREASE
                else:
                    counter.adaptive_limit *= DECREASE
                counter.adaptive_limit = min(max(1.0, counter.adaptive_limit),
                                             float(runner.effective_request_concurrency))
            counter.requests = max(0, counter.requests - 1)

    # -- processing list -----------------------------------------------------------------------
    def add_job(self, job: RunningJob) -> None:
        """Put a job on the list with the smallest concurrency ids free for its token/project."""
        with self._lock:
            same_token = [j for j in self._jobs if j.runner.token == job.runner.token]
            used = {j.concurrent_id for j in same_token}
            used_project = {j.concurrent_project_id for j in same_token
                            if j.project_id == job.project_id}
            job.concurrent_id = next(i for i in range(len(used) + 1) if i not in used)
            job.concurrent_project_id = next(i for i in range(len(used_project) + 1)
                                             if i not in used_project)
            self._jobs.append(job)

    def remove_job(self, job: RunningJob) -> bool:
        with self._lock:
            if job in self._jobs:
                self._jobs.remove(job)
                return True
            return False

    def jobs(self) -> list[RunningJob]:
        with self._lock:
            return list(self._jobs)

    def counters(self) -> dict[str, RunnerCounter]:
        """Counters by runner token (callers shorten it before showing it)."""
        with self._lock:
            return {token: RunnerCounter(**vars(c)) for token, c in self._counters.items()}

    def register(self, runner: RunnerConfig) -> None:
        """Make a runner's counters exist (so metrics show it idle before its first request)."""
        with self._lock:
            self._counter(runner)
