"""Cancellation scopes with deadlines for the pipeline, shaped like Go's context.Context.

The job has one scope (job timeout, abort, interrupt); prepare, get_sources, user scripts and
after_script get child scopes with their own deadlines. Cancelling a scope cancels its children;
a scope is done with the *earliest* of its own cancel, its own deadline, or its parent being done.
Executors see a scope as `timeout` (seconds to its deadline) plus `event` (set on cancel).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from runnerfleet.executors.errors import BuildError


@dataclass(frozen=True)
class Done:
    """Why a scope ended: `canceled` or `deadline`, and the cause attached to that event."""

    kind: Literal["canceled", "deadline"]
    cause: BuildError | None = None
    at: float = 0.0

    @property
    def canceled(self) -> bool:
        return self.kind == "canceled"

    @property
    def deadline_exceeded(self) -> bool:
        return self.kind == "deadline"


class RunContext:
    """One cancellation scope. Thread-safe: `cancel()` may be called from any thread."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        parent: RunContext | None = None,
        timeout: float | None = None,
        deadline_cause: BuildError | None = None,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._parent = parent
        self._children: list[RunContext] = []
        self._canceled: Done | None = None
        self._deadline: float | None = None
        self._deadline_cause = deadline_cause
        self._expired = False
        self.event = threading.Event()
        if timeout is not None:
            deadline = clock() + max(timeout, 0.0)
            inherited = parent.deadline if parent is not None else None
            # Like Go's WithDeadline: a deadline later than the parent's is never the reason.
            if inherited is None or deadline < inherited:
                self._deadline = deadline
        if parent is not None:
            parent._adopt(self)

    def _adopt(self, child: RunContext) -> None:
        with self._lock:
            self._children.append(child)
            canceled = self._canceled is not None or self.event.is_set()
        if canceled:
            child._cancel_from_parent()

    def child(self, timeout: float | None = None, deadline_cause: BuildError | None = None) -> RunContext:
        return RunContext(self._clock, parent=self, timeout=timeout, deadline_cause=deadline_cause)

    @property
    def deadline(self) -> float | None:
        """The effective deadline: this scope's own or the nearest ancestor's, whichever is first."""
        inherited = self._parent.deadline if self._parent is not None else None
        if self._deadline is None:
            return inherited
        return self._deadline if inherited is None else min(self._deadline, inherited)

    def remaining(self) -> float | None:
        deadline = self.deadline
        return None if deadline is None else max(deadline - self._clock(), 0.0)

    def cancel(self, cause: BuildError | None = None) -> None:
        """End this scope and its children now (first cancel wins; later calls keep the first cause)."""
        with self._lock:
            if self._canceled is None:
                self._canceled = Done("canceled", cause, self._clock())
            children = list(self._children)
        self.event.set()
        for child in children:
            child._cancel_from_parent()

    def _cancel_from_parent(self) -> None:
        with self._lock:
            children = list(self._children)
        self.event.set()
        for child in children:
            child._cancel_from_parent()

    def expire(self) -> None:
        """Treat the binding deadline as passed (an executor reported it timed the stage out)."""
        owner: RunContext | None = None
        owner_deadline = float("inf")
        node: RunContext | None = self
        while node is not None:
            if node._deadline is not None and node._deadline <= owner_deadline:
                owner, owner_deadline = node, node._deadline
            node = node._parent
        if owner is not None:
            with owner._lock:
                owner._expired = True

    def _first_done(self, now: float) -> Done | None:
        candidates: list[Done] = []
        with self._lock:
            if self._canceled is not None:
                candidates.append(self._canceled)
            if self._deadline is not None and (self._expired or now >= self._deadline):
                candidates.append(Done("deadline", self._deadline_cause, self._deadline))
        if self._parent is not None:
            inherited = self._parent._first_done(now)
            if inherited is not None:
                candidates.append(inherited)
        return min(candidates, key=lambda d: d.at) if candidates else None

    def err(self) -> Done | None:
        """None while the scope runs; else why it ended (the earliest event wins)."""
        return self._first_done(self._clock())

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when the scope is cancelled."""
        return self.event.wait(max(seconds, 0.0))
