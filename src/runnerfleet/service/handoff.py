"""An unbuffered hand-off of runner entries from the feeder to idle workers (Go's unbuffered channel).

`put` completes only once an idle worker has claimed the item, so a feeder blocks while every
worker is busy, exactly like gitlab-runner's feeder on its unbuffered runners channel. `offer` is
the non-blocking send; `requeue` is `offer` that, when no worker is idle, remembers the item for
the next worker that becomes free (see there); `retire` asks idle workers to leave (pool shrink).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Items go only to workers that are waiting in `take`; nothing is ever buffered for later."""

    def __init__(self) -> None:
        # One lock, two wait queues: waking only the side that can act (one worker per item,
        # the feeder when a worker arrives) instead of every idle thread on each change.
        lock = threading.Lock()
        self._cond = threading.Condition(lock)  # feeders wait here
        self._takers = threading.Condition(lock)  # idle workers wait here
        self._waiting = 0  # workers blocked in take()
        self._pending: deque[T] = deque()  # each item here already belongs to one waiting worker
        self._retire = 0
        self._closed = False
        self._putters = 0  # feeders blocked in put()
        # Requeues that found no idle worker, for the next worker that frees up (at most one
        # entry per equal item).
        self._deferred: deque[T] = deque()

    def _free_takers(self) -> int:
        return self._waiting - len(self._pending) - self._retire

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Block until an idle worker claims `item`; False when closed or after `timeout` seconds."""
        with self._cond:
            self._putters += 1
            try:
                ok = self._cond.wait_for(lambda: self._closed or self._free_takers() > 0, timeout)
            finally:
                self._putters -= 1
                if self._deferred:
                    # A worker that left a deferred item for this put may take it now.
                    self._takers.notify()
            if self._closed or not ok:
                return False
            self._pending.append(item)
            self._takers.notify()
            return True

    def offer(self, item: T) -> bool:
        """Hand `item` to an idle worker if there is one right now; never blocks."""
        with self._cond:
            if self._closed or self._free_takers() <= 0:
                return False
            self._pending.append(item)
            self._takers.notify()
            return True

    def requeue(self, item: T) -> bool:
        """`offer`, or else keep `item` for the next worker that becomes idle; True if handed now.

        gitlab-runner requeues a runner that just got a job with a non-blocking send, so when all
        workers are busy the chain breaks and the runner waits for the feeder's next tick although
        its queue probably holds more jobs. Remembering the requeue lets the first worker that
        frees up ask again at once. A feeder blocked in `put` still goes first, so other runners
        keep their turn (no starvation).
        """
        with self._cond:
            if self._closed:
                return False
            if self._free_takers() > 0:
                self._pending.append(item)
                self._takers.notify()
                return True
            if item not in self._deferred:
                self._deferred.append(item)
            return False

    def forget_deferred(self) -> None:
        """Drop remembered requeues (the config changed: they may name a removed runner)."""
        with self._cond:
            self._deferred.clear()

    def take(self) -> T | None:
        """Wait for an item; None means this worker must stop (retired or the hand-off closed)."""
        with self._cond:
            self._waiting += 1
            self._cond.notify()  # a feeder blocked in put() may hand its item over now
            try:
                while True:
                    if self._pending:
                        return self._pending.popleft()
                    if self._retire > 0:
                        self._retire -= 1
                        return None
                    if self._closed:
                        return None
                    if self._deferred and self._putters == 0:
                        return self._deferred.popleft()
                    self._takers.wait()
            finally:
                self._waiting -= 1

    def retire(self, count: int = 1) -> None:
        """Make `count` workers leave the next time they are idle (a shrinking pool)."""
        with self._cond:
            self._retire += count
            self._takers.notify(count)

    def close(self) -> None:
        """No more items: blocked `put`s return False and idle workers leave."""
        with self._cond:
            self._closed = True
            self._deferred.clear()
            self._cond.notify_all()
            self._takers.notify_all()

    @property
    def putters(self) -> int:
        """Feeders blocked in `put` right now."""
        with self._cond:
            return self._putters

    @property
    def idle(self) -> int:
        """Workers waiting for an item right now."""
        with self._cond:
            return self._waiting
