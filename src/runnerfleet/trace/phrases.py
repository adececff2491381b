"""Masks the values of masked variables in a byte stream, across write boundaries."""

from __future__ import annotations

from collections.abc import Iterable

from runnerfleet.trace.literalcache import LiteralSetCache
from runnerfleet.trace.literals import LiteralSet

MASK = b"[MASKED]"

# The cache holds masked values (secrets) in memory: it is small, so at most this many recent
# value sets stay there, and a TraceBuffer discards its own sets when its job's log is finished.
# (Python's `re` module keeps its own cache of up to 512 compiled patterns as well.)
PHRASE_SETS_MAX = 16
PHRASE_SETS = LiteralSetCache(maxsize=PHRASE_SETS_MAX)


def unique_phrases(values: Iterable[str | bytes]) -> list[bytes]:
    """Trimmed, de-duplicated, non-empty values, longest first (gitlab-runner trims spaces too)."""
    seen: set[bytes] = set()
    for value in values:
        raw = value.encode() if isinstance(value, str) else value
        raw = raw.strip()
        if raw:
            seen.add(raw)
    return sorted(seen, key=lambda p: (-len(p), p))


def phrase_key(values: Iterable[str | bytes]) -> tuple[bytes, ...]:
    """The cache key of a list of masked values: its phrases (same phrases, same key)."""
    return tuple(unique_phrases(values))


def phrase_set(values: Iterable[str | bytes]) -> LiteralSet:
    """The LiteralSet of these masked values, from PHRASE_SETS when recently built."""
    return PHRASE_SETS.get(phrase_key(values))


class PhraseMasker:
    """Replaces every occurrence of a phrase by `[MASKED]`, leftmost first, longest phrase winning.

    The result is the same whatever the write boundaries are: only the shortest tail that could
    still become the start of a phrase is held back until the next write or `flush()`.
    """

    def __init__(self, phrases: Iterable[str | bytes] | LiteralSet) -> None:
        self.literals = phrases if isinstance(phrases, LiteralSet) else phrase_set(phrases)
        self._held = b""

    @property
    def active(self) -> bool:
        return bool(self.literals)

    @property
    def held(self) -> bytes:
        """Bytes not yet released (a proper prefix of some phrase)."""
        return self._held

    def feed(self, data: bytes, *, scan: bool = True) -> bytes:
        """Mask data; `scan=False` when the caller proved no phrase occurs in held + data."""
        if not self.literals:
            return data
        buf = self._held + data if self._held else data
        out: list[bytes] = []
        pos = 0
        hold = self.literals.hold_start(buf, 0)
        present = scan and self.literals.present(buf)
        pattern = self.literals.pattern if present else None
        while True:
            if pos > hold:
                hold = self.literals.hold_start(buf, pos)
            match = pattern.search(buf, pos) if pattern is not None else None
            # A match starting before `hold` cannot be extended by later bytes: it is final.
            if match is None or match.start() >= hold:
                if pos == 0 and hold == len(buf):
                    self._held = b""
                    return buf
                out.append(buf[pos:hold])
                self._held = buf[hold:]
                return b"".join(out)
            out.append(buf[pos : match.start()])
            out.append(MASK)
            pos = match.end()

    def flush(self) -> bytes:
        """The held tail at the end of the stream: every match in it is final now."""
        held, self._held = self._held, b""
        pattern = self.literals.pattern if held else None
        # The tail is a proper prefix of a longer phrase, yet a shorter phrase may sit inside
        # it ("abc" held for "abcd" contains "bc"): mask those before releasing it.
        return pattern.sub(MASK, held) if held and pattern is not None else held
