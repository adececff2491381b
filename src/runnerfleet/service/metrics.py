"""The service's counters, kept in plain Python; rendered as gitlab-runner's metrics on scrape.

Nothing here imports prometheus-client: the `/metrics` server (metrics_server.py) does, and only
when `listen_address` is set, which keeps an idle runner without metrics small.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

# gitlab-runner's buckets (commands/builds_helper.go, network/api_requests_collector.go).
JOB_DURATION_BUCKETS = (30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 10800.0, 18000.0, 36000.0)
API_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGE_DURATION_BUCKETS = (1.0, 3.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
ERROR_LEVELS = ("panic", "fatal", "error", "warning")
JOB_MODE = "traditional"  # gitlab-runner's execution mode of script jobs


@dataclass
class Histogram:
    """Cumulative-bucket histogram (one label set)."""

    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)
        index = bisect.bisect_left(self.buckets, value)
        for i in range(index, len(self.buckets)):
            self.counts[i] += 1
        self.total += value
        self.count += 1

    def copy(self) -> Histogram:
        return Histogram(self.buckets, list(self.counts) or [0] * len(self.buckets), self.total,
                         self.count)


class ServiceMetrics:
    """Counters of one runner process; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.api_statuses: Counter[tuple[str, str, str, str, str]] = Counter()
        self.api_durations: dict[tuple[str, str, str, str, str], Histogram] = {}
        self.jobs_total: Counter[tuple[str, str, str]] = Counter()
        self.failed_jobs: Counter[tuple[str, str, str, str]] = Counter()
        self.job_durations: dict[tuple[str, str, str, str], Histogram] = {}
        self.stage_durations: dict[tuple[str, str, str, str], Histogram] = {}
        self.errors: Counter[str] = Counter({level: 0 for level in ERROR_LEVELS})
        self.feeds: Counter[tuple[str, str, str]] = Counter()
        self.feed_failures: Counter[tuple[str, str, str]] = Counter()
        self.slot_operations: Counter[str] = Counter({"started": 0, "stopped": 0})
        self.worker_slots = 0
        self.processing_failures: Counter[tuple[str, str, str, str]] = Counter()
        self.health_failures: Counter[tuple[str, str, str]] = Counter()

    def api_request(self, runner: str, system_id: str, endpoint: str, status: int, method: str,
                    seconds: float) -> None:
        klass = f"{status // 100}xx" if 100 <= status < 600 else "unknown"
        with self._lock:
            self.api_statuses[(runner, system_id, endpoint, str(status), method.lower())] += 1
            key = (runner, system_id, endpoint, klass, method.lower())
            self.api_durations.setdefault(key, Histogram(API_DURATION_BUCKETS)).observe(seconds)

    def job_added(self, runner: str, name: str, system_id: str) -> None:
        with self._lock:
            self.jobs_total[(runner, name, system_id)] += 1

    def runner_seen(self, runner: str, name: str, system_id: str) -> None:
        """Make a runner's series exist at 0 (gitlab-runner adds them when it first sees one)."""
        with self._lock:
            for counter in (self.jobs_total, self.feeds, self.feed_failures, self.health_failures):
                counter[(runner, name, system_id)] += 0
            for kind in ("other", "no_free_executor", "job_failure"):
                self.processing_failures[(kind, runner, name, system_id)] += 0

    def job_finished(self, runner: str, name: str, system_id: str, seconds: float,
                     failure_reason: str | None) -> None:
        with self._lock:
            key = (runner, name, system_id, JOB_MODE)
            self.job_durations.setdefault(key, Histogram(JOB_DURATION_BUCKETS)).observe(seconds)
            if failure_reason:
                self.failed_jobs[(runner, name, failure_reason, JOB_MODE)] += 1

    def stage_finished(self, runner: str, name: str, system_id: str, stage: str,
                       seconds: float) -> None:
        with self._lock:
            key = (runner, name, system_id, stage)
            self.stage_durations.setdefault(key, Histogram(STAGE_DURATION_BUCKETS)).observe(seconds)

    def error_logged(self, level: str) -> None:
        with self._lock:
            self.errors[level] += 1

    def feed(self, runner: str, name: str, system_id: str, ok: bool) -> None:
        with self._lock:
            (self.feeds if ok else self.feed_failures)[(runner, name, system_id)] += 1

    def worker_started(self, slots: int) -> None:
        with self._lock:
            self.slot_operations["started"] += 1
            self.worker_slots = slots

    def worker_stopped(self, slots: int) -> None:
        with self._lock:
            self.slot_operations["stopped"] += 1
            self.worker_slots = slots

    def processing_failure(self, kind: str, runner: str, name: str, system_id: str) -> None:
        with self._lock:
            self.processing_failures[(kind, runner, name, system_id)] += 1

    def health_failure(self, runner: str, name: str, system_id: str) -> None:
        with self._lock:
            self.health_failures[(runner, name, system_id)] += 1

    def snapshot(self) -> ServiceMetrics:
        """A consistent copy for one scrape."""
        copy = ServiceMetrics()
        with self._lock:
            for name, value in vars(self).items():
                if name == "_lock":
                    continue
                if isinstance(value, Counter):
                    setattr(copy, name, Counter(value))
                elif isinstance(value, dict):
                    setattr(copy, name, {k: h.copy() for k, h in value.items()})
                else:
                    setattr(copy, name, value)
        return copy


class ErrorCountingHandler(logging.Handler):
    """Counts warnings and errors logged by the process (`gitlab_runner_errors_total{level}`)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        super().__init__(logging.WARNING)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.CRITICAL:
            level = "fatal"
        elif record.levelno >= logging.ERROR:
            level = "error"
        else:
            level = "warning"
        self.metrics.error_logged(level)
