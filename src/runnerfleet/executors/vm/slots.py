"""Concurrency ids per runner: the smallest id no running job of that runner holds (CI_CONCURRENT_ID)."""

from __future__ import annotations

import threading
from collections import defaultdict


class Slots:
    """Thread-safe id allocation; a released id is handed out again first (so VMs get reused)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: defaultdict[str, set[int]] = defaultdict(set)

    def take(self, key: str) -> int:
        with self._lock:
            taken = self._taken[key]
            slot = next(i for i in range(len(taken) + 1) if i not in taken)
            taken.add(slot)
            return slot

    def give(self, key: str, slot: int) -> None:
        with self._lock:
            self._taken[key].discard(slot)
