"""One process-wide timer thread that calls back at deadlines (the trace streamers' first tick).

A job's trace streamer needs its own thread only once the job has run for an update interval
(or its log has a full patch waiting): most jobs end before that. Starting, waking and joining
a thread per job costs more CPU than such a job's runner lines, so each streamer registers its
first tick here instead and starts its thread when the tick comes. A registration that is no
longer wanted is cancelled by dropping its callback; the entry itself leaves the heap at its
deadline. The thread is woken only when a registration is due earlier than it planned to wake.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Ticket:
    """One registration; `cancel()` drops the callback (and what it references) at once."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None


class Ticker:
    """Calls each registered callback once, on its own daemon thread, at its monotonic deadline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Ticket]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._wakes_at: float | None = None  # when the thread wakes by itself (None: never)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> Ticket:
        ticket = Ticket(callback)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), ticket))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trace-ticker",
                                                daemon=True)
                self._thread.start()
            elif self._wakes_at is None or deadline < self._wakes_at:
                self._cond.notify()
        return ticket

    def _run(self) -> None:
        while True:
            due: list[Ticket] = []
            with self._cond:
                now = self._clock()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if not due:
                    self._wakes_at = self._heap[0][0] if self._heap else None
                    timeout = None if self._wakes_at is None else self._wakes_at - now
                    self._cond.wait(timeout)
                    continue
            for ticket in due:
                callback, ticket.callback = ticket.callback, None
                if callback is not None:
                    try:
                        callback()
                    except Exception:  # one streamer's failure must not stop the others' ticks
                        import logging

                        logging.getLogger("runnerfleet.trace").exception(
                            "A trace streamer's tick failed")


_TICKER: Ticker | None = None
_TICKER_LOCK = threading.Lock()


def ticker() -> Ticker:
    """The process's ticker (created on first use)."""
    global _TICKER
    if _TICKER is None:
        with _TICKER_LOCK:
            if _TICKER is None:
                _TICKER = Ticker()
    return _TICKER
