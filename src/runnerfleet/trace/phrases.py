"""Masks the values of masked variables in a byte stream, across write boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"[MASKED]"


def unique_phrases(values: Iterable[str | bytes]) -> list[bytes]:
    """Trimmed, de-duplicated, non-empty values, longest first (gitlab-runner trims spaces too)."""
    seen: set[bytes] = set()
    for value in values:
        raw = value.encode() if isinstance(value, str) else value
        raw = raw.strip()
        if raw:
            seen.add(raw)
    return sorted(seen, key=lambda p: (-len(p), p))


class PhraseMasker:
    """Replaces every occurrence of a phrase by `[MASKED]`, leftmost first, longest phrase winning.

    The result is the same whatever the write boundaries are: only the shortest tail that could
    still become the start of a phrase is held back until the next write or `flush()`.
    """

    def __init__(self, phrases: Iterable[str | bytes]) -> None:
        self._phrases = unique_phrases(phrases)
        self._held = b""
        # Longest first, so at one position the alternation picks the longest phrase.
        self._pattern = re.compile(b"|".join(re.escape(p) for p in self._phrases)) if self._phrases else None
        self._max_len = max((len(p) for p in self._phrases), default=0)
        self._first_bytes = frozenset(p[0] for p in self._phrases)

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def _hold_start(self, buf: bytes, start: int) -> int:
        """Earliest index >= start whose tail is a proper prefix of some phrase, else len(buf)."""
        size = len(buf)
        i = max(start, size - self._max_len + 1)
        while i < size:
            if buf[i] in self._first_bytes:
                tail = buf[i:]
                for phrase in self._phrases:
                    if len(phrase) > len(tail) and phrase.startswith(tail):
                        return i
            i += 1
        return size

    def feed(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        buf = self._held + data if self._held else data
        out: list[bytes] = []
        pos = 0
        hold = self._hold_start(buf, 0)
        # Cheap substring scans first: most chunks contain no literal at all.
        present = any(literal in buf for literal in self._phrases)
        while True:
            if pos > hold:
                hold = self._hold_start(buf, pos)
            match = self._pattern.search(buf, pos) if present else None
            # A match starting before `hold` cannot be extended by later bytes: it is final.
            if match is None or match.start() >= hold:
                out.append(buf[pos:hold])
                self._held = buf[hold:]
                return b"".join(out)
            out.append(buf[pos : match.start()])
            out.append(MASK)
            pos = match.end()

    def flush(self) -> bytes:
        # A held tail is a proper prefix of a phrase, never a whole secret: release it as is.
        held, self._held = self._held, b""
        return held
