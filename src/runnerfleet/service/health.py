"""Runner health as gitlab-runner counts it: consecutive unhealthy job requests pause a runner."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from runnerfleet.config import RunnerConfig
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.service")


def runner_unique_id(runner: RunnerConfig) -> str:
    """gitlab-runner's UniqueID: the URL and the short token (never the whole token)."""
    return f"{runner.url}{runner.short_token}"


@dataclass
class _Health:
    failures: int
    last_check: float


class HealthTracker:
    """Counts unhealthy answers per runner; at `unhealthy_requests_limit` the runner is skipped
    for `unhealthy_interval`, then one request is forced through (engine spec §4.5)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_failure: Callable[[RunnerConfig], None] | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, _Health] = {}
        self._on_failure = on_failure

    def _get(self, key: str) -> _Health:
        health = self._data.get(key)
        if health is None:
            health = _Health(0, self._clock())
            self._data[key] = health
        return health

    def reset(self) -> None:
        """Forget everything (a config reload starts every runner healthy, like gitlab-runner)."""
        with self._lock:
            self._data.clear()

    def is_healthy(self, runner: RunnerConfig) -> bool:
        key = runner_unique_id(runner)
        limit = runner.effective_unhealthy_requests_limit
        interval = runner.effective_unhealthy_interval
        with self._lock:
            health = self._get(key)
            if health.failures < limit:
                return True
            if self._clock() - health.last_check > interval.seconds:
                log.warning('Runner "%s" is not healthy, but check for a new job will be forced!', key,
                            extra=fields(unhealthy_requests=health.failures,
                                         unhealthy_requests_limit=limit,
                                         unhealthy_interval=interval.go_string))
                health.failures = 0
                health.last_check = self._clock()
                return True
            return False

    def mark(self, runner: RunnerConfig, healthy: bool) -> None:
        key = runner_unique_id(runner)
        limit = runner.effective_unhealthy_requests_limit
        with self._lock:
            health = self._get(key)
            if healthy:
                health.failures = 0
                health.last_check = self._clock()
                return
            health.failures += 1
            failures = health.failures
        if self._on_failure is not None:
            self._on_failure(runner)
        if failures >= limit:
            log.error('Runner "%s" is unhealthy and will be disabled for %s seconds!', key,
                      runner.effective_unhealthy_interval.go_string,
                      extra=fields(unhealthy_requests=failures, unhealthy_requests_limit=limit))
