"""A set of byte literals to mask: fast presence scans, the exact matcher and the held-back tail."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# A single literal at least this long is scanned with `in` (CPython's fast search skips ahead
# by up to its length); shorter ones and groups go through a regex with a literal head.
_LONG_LITERAL = 10


def _scanner(head: bytes, literals: list[bytes]) -> Callable[[bytes], bool]:
    """A C-level presence test for literals that all start with `head`."""
    if len(literals) == 1 and len(literals[0]) >= _LONG_LITERAL:
        literal = literals[0]
        return lambda buf: literal in buf
    # `re` finds a literal head with a tight C loop (~1 GB/s); an alternation without a shared
    # head is tried at every position instead (~30 MB/s measured), hence one regex per head.
    tails = sorted({lit[len(head):] for lit in literals}, key=lambda t: (-len(t), t))
    if b"" in tails:
        pattern = re.compile(re.escape(head))
    else:
        pattern = re.compile(re.escape(head) + b"(?:" + b"|".join(re.escape(t) for t in tails) + b")")
    search = pattern.search
    return lambda buf: search(buf) is not None


class LiteralSet:
    """Literals matched leftmost first, the longest winning at one position.

    `present()` is the cheap test for whole chunks (most contain no literal at all);
    `pattern` is the exact matcher, compiled on first use (most job logs never print a masked
    value, so most jobs never need it); `hold_start()` finds the tail that must wait for more bytes.
    Immutable once built (the lazy pattern aside): one instance may serve many maskers and threads.
    """

    def __init__(self, literals: Iterable[bytes]) -> None:
        self.literals: list[bytes] = sorted({lit for lit in literals if lit}, key=lambda p: (-len(p), p))
        self._pattern: re.Pattern[bytes] | None = None
        self.max_len = max((len(p) for p in self.literals), default=0)
        self._first_bytes = frozenset(p[0] for p in self.literals)
        # A held tail is a proper prefix of a literal, so its last byte is one of these; most
        # writes end with a byte that is not (a newline), and then nothing is held.
        self._prefix_end_bytes = frozenset(b for p in self.literals for b in p[:-1])
        groups: dict[bytes, list[bytes]] = {}
        for literal in self.literals:
            groups.setdefault(literal[:2], []).append(literal)
        self._scanners = [_scanner(head, group) for head, group in sorted(groups.items())]

    def __bool__(self) -> bool:
        return bool(self.literals)

    @property
    def pattern(self) -> re.Pattern[bytes] | None:
        """The exact matcher (None without literals); two threads may both compile it, harmlessly."""
        pattern = self._pattern
        if pattern is None and self.literals:
            # Longest first, so at one position the alternation picks the longest literal.
            pattern = self._pattern = re.compile(b"|".join(re.escape(p) for p in self.literals))
        return pattern

    def present(self, buf: bytes) -> bool:
        """True when some literal occurs in buf."""
        return any(scan(buf) for scan in self._scanners)

    def hold_start(self, buf: bytes, start: int) -> int:
        """Earliest index >= start whose tail is a proper prefix of some literal, else len(buf)."""
        size = len(buf)
        if size == 0 or buf[-1] not in self._prefix_end_bytes:
            return size
        i = max(start, size - self.max_len + 1)
        while i < size:
            if buf[i] in self._first_bytes:
                tail = buf[i:]
                for literal in self.literals:
                    if len(literal) > len(tail) and literal.startswith(tail):
                        return i
            i += 1
        return size
