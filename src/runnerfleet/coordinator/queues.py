"""Per-runner queue values (GitLab's `runner:build_queue:<token>`) and long-poll waits on them."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from runnerfleet.coordinator.tokens import new_queue_value


class RunnerQueues:
    """A 32-hex value per runner, replaced whenever new work may exist for that runner.

    Held `/jobs/request` calls wait on the condition and wake when their runner's value changes
    (as Workhorse wakes on Redis pub/sub); nothing polls.
    """

    def __init__(self) -> None:
        self._values: dict[int, str] = {}
        self._changed = threading.Condition()
        self._closed = False

    def ensure(self, runner_id: int) -> str:
        """The current value, created if missing (never overwritten here)."""
        with self._changed:
            return self._values.setdefault(runner_id, new_queue_value())

    def current(self, runner_id: int) -> str | None:
        with self._changed:
            return self._values.get(runner_id)

    def tick(self, runner_ids: Iterable[int]) -> None:
        with self._changed:
            for runner_id in runner_ids:
                self._values[runner_id] = new_queue_value()
            self._changed.notify_all()

    def wait_for_change(self, runner_id: int, value: str, timeout: float) -> bool:
        """Block until the runner's value differs from `value` (True) or `timeout` passes."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._closed or self._values.get(runner_id) != value, timeout
            )
            return not self._closed and self._values.get(runner_id) != value

    def close(self) -> None:
        """Release every held request (server shutdown)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
