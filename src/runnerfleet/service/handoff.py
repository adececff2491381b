"""An unbuffered hand-off of runner entries from the feeder to idle workers (Go's unbuffered channel).

`put` completes only once an idle worker has claimed the item, so a feeder blocks while every
worker is busy, exactly like gitlab-runner's feeder on its unbuffered runners channel. `offer` is
the non-blocking send used to requeue a runner; `retire` asks idle workers to leave (pool shrink).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Items go only to workers that are waiting in `take`; nothing is ever buffered for later."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting = 0  # workers blocked in take()
        self._pending: deque[T] = deque()  # each item here already belongs to one waiting worker
        self._retire = 0
        self._closed = False

    def _free_takers(self) -> int:
        return self._waiting - len(self._pending) - self._retire

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Block until an idle worker claims `item`; False when closed or after `timeout` seconds."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self._closed or self._free_takers() > 0, timeout)
            if self._closed or not ok:
                return False
            self._pending.append(item)
            self._cond.notify_all()
            return True

    def offer(self, item: T) -> bool:
        """Hand `item` to an idle worker if there is one right now; never blocks."""
        with self._cond:
            if self._closed or self._free_takers() <= 0:
                return False
            self._pending.append(item)
            self._cond.notify_all()
            return True

    def take(self) -> T | None:
        """Wait for an item; None means this worker must stop (retired or the hand-off closed)."""
        with self._cond:
            self._waiting += 1
            self._cond.notify_all()
            try:
                while True:
                    if self._pending:
                        return self._pending.popleft()
                    if self._retire > 0:
                        self._retire -= 1
                        return None
                    if self._closed:
                        return None
                    self._cond.wait()
            finally:
                self._waiting -= 1

    def retire(self, count: int = 1) -> None:
        """Make `count` workers leave the next time they are idle (a shrinking pool)."""
        with self._cond:
            self._retire += count
            self._cond.notify_all()

    def close(self) -> None:
        """No more items: blocked `put`s return False and idle workers leave."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def idle(self) -> int:
        """Workers waiting for an item right now."""
        with self._cond:
            return self._waiting
