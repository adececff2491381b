"""Masks the secret part of prefixed GitLab tokens (`glpat-...`) in a byte stream."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"[MASKED]"

ALWAYS_MASKED_PREFIXES = ("glpat-",)
# Masked as well when FF_MASK_ALL_DEFAULT_TOKENS is on (its default).
DEFAULT_TOKEN_PREFIXES = (
    "gloas-",
    "gldt-",
    "glrt-",
    "glcbt-",
    "glrtr-",
    "glptt-",
    "glft-",
    "glimt-",
    "glagent-",
    "glsoat-",
    "glffct-",
    "_gitlab_session=",
    "gltok-",
)
# gitlab-runner builds at most this many prefix maskers from the sorted (shortest first) list.
MAX_TOKEN_PREFIXES = 15

_BODY = re.compile(rb"[0-9A-Za-z._=-]*")


def token_prefixes(extra: Iterable[str], *, mask_all_default_tokens: bool = True) -> list[bytes]:
    """The prefixes gitlab-runner masks: trimmed, unique, shortest first, capped at 15."""
    names = [*extra, *ALWAYS_MASKED_PREFIXES, *(DEFAULT_TOKEN_PREFIXES if mask_all_default_tokens else ())]
    unique = sorted({n.strip() for n in names if n.strip()}, key=lambda n: (len(n), n))
    return [n.encode() for n in unique[:MAX_TOKEN_PREFIXES]]


class TokenMasker:
    """Keeps each token prefix and replaces the token characters after it by one `[MASKED]`."""

    def __init__(self, prefixes: Iterable[bytes]) -> None:
        self._prefixes = sorted(set(prefixes), key=lambda p: (-len(p), p))
        alternation = b"|".join(re.escape(p) for p in self._prefixes)
        self._pattern = re.compile(alternation) if self._prefixes else None
        self._max_len = max((len(p) for p in self._prefixes), default=0)
        self._first_bytes = frozenset(p[0] for p in self._prefixes)
        # Prefixes grouped by their first two bytes (most share "gl"), for one scan per group.
        self._groups: dict[bytes, list[bytes]] = {}
        for prefix in self._prefixes:
            self._groups.setdefault(prefix[:2], []).append(prefix)
        self._held = b""
        self._in_token = False
        self._masked = False

    def _hold_start(self, buf: bytes, start: int) -> int:
        size = len(buf)
        i = max(start, size - self._max_len + 1)
        while i < size:
            if buf[i] in self._first_bytes:
                tail = buf[i:]
                for prefix in self._prefixes:
                    if len(prefix) > len(tail) and prefix.startswith(tail):
                        return i
            i += 1
        return size

    def _skip_body(self, buf: bytes, pos: int) -> int:
        """Drop token characters from pos; return where they end, or -1 if they run to the end."""
        body = _BODY.match(buf, pos)
        end = body.end() if body else pos
        self._masked = self._masked or end > pos
        if end == len(buf):
            return -1
        self._in_token = False
        return end

    def feed(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        buf = self._held + data if self._held else data
        self._held = b""
        out: list[bytes] = []
        pos = 0
        if self._in_token:
            pos = self._skip_body(buf, 0)
            if pos < 0:
                return b""
            if self._masked:
                out.append(MASK)
        hold = self._hold_start(buf, pos)
        # Cheap substring scans first: most chunks contain no literal at all.
        present = any(
            head in buf and any(prefix in buf for prefix in group) for head, group in self._groups.items()
        )
        while True:
            if pos > hold:
                hold = self._hold_start(buf, pos)
            match = self._pattern.search(buf, pos) if present else None
            if match is None or match.start() >= hold:
                out.append(buf[pos:hold])
                self._held = buf[hold:]
                return b"".join(out)
            out.append(buf[pos : match.end()])
            self._in_token, self._masked = True, False
            pos = self._skip_body(buf, match.end())
            if pos < 0:
                return b"".join(out)
            if self._masked:
                out.append(MASK)

    def flush(self) -> bytes:
        if self._in_token:
            masked = self._masked
            self._in_token = self._masked = False
            return MASK if masked else b""
        held, self._held = self._held, b""
        return held
