"""A small bounded LRU of built LiteralSets keyed by their literals: per-job masking setup is cheap.

Building a LiteralSet escapes and compiles regexes (~50-100 us each); a job's log builds the same
sets several times (the service's buffer, the Build's setters, each stream), and every job the
same default token prefixes. A LiteralSet is immutable after construction, so one instance is
shared by every masker of every thread that asks for the same literals.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from runnerfleet.trace.literals import LiteralSet

Key = tuple[bytes, ...]


class LiteralSetCache:
    """At most `maxsize` LiteralSets, least recently used dropped first; `discard()` drops one now.

    The key is the normalised literal tuple itself (no hash of it), so a hit is always the exact
    set asked for: a job can never be handed a set built from another job's values.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._sets: OrderedDict[Key, LiteralSet] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Key) -> LiteralSet:
        """The set for these literals, built on a miss."""
        with self._lock:
            found = self._sets.get(key)
            if found is not None:
                self._sets.move_to_end(key)
                return found
        # Built outside the lock: other buffers' lookups need not wait for a compile.
        built = LiteralSet(key)
        with self._lock:
            self._sets[key] = built
            self._sets.move_to_end(key)
            while len(self._sets) > self.maxsize:
                self._sets.popitem(last=False)
        return built

    def discard(self, key: Key) -> None:
        with self._lock:
            self._sets.pop(key, None)

    def holds(self, literal: bytes) -> bool:
        """True when some cached set contains this literal (to check what is kept in memory)."""
        with self._lock:
            return any(literal in key for key in self._sets)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sets)
