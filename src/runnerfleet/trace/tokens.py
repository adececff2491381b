"""Masks the secret part of prefixed GitLab tokens (`glpat-...`) in a byte stream."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from runnerfleet.trace.literalcache import LiteralSetCache
from runnerfleet.trace.literals import LiteralSet

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


# Token prefixes are names, not secrets: nearly every job asks for the default set.
PREFIX_SETS = LiteralSetCache(maxsize=32)


def token_prefixes(extra: Iterable[str], *, mask_all_default_tokens: bool = True) -> list[bytes]:
    """The prefixes gitlab-runner masks: trimmed, unique, shortest first, capped at 15."""
    return list(_token_prefixes(tuple(extra), mask_all_default_tokens))


@functools.lru_cache(maxsize=32)
def _token_prefixes(extra: tuple[str, ...], mask_all_default_tokens: bool) -> tuple[bytes, ...]:
    names = [*extra, *ALWAYS_MASKED_PREFIXES, *(DEFAULT_TOKEN_PREFIXES if mask_all_default_tokens else ())]
    unique = sorted({n.strip() for n in names if n.strip()}, key=lambda n: (len(n), n))
    return tuple(n.encode() for n in unique[:MAX_TOKEN_PREFIXES])


def prefix_set(prefixes: Iterable[bytes]) -> LiteralSet:
    """The LiteralSet of these token prefixes, from PREFIX_SETS when recently built."""
    return PREFIX_SETS.get(tuple(prefixes))


class TokenMasker:
    """Keeps each token prefix and replaces the token characters after it by one `[MASKED]`."""

    def __init__(self, prefixes: Iterable[bytes] | LiteralSet) -> None:
        self.literals = prefixes if isinstance(prefixes, LiteralSet) else prefix_set(prefixes)
        self._held = b""
        self._in_token = False
        self._masked = False

    @property
    def held(self) -> bytes:
        """Bytes not yet released (a proper prefix of some token prefix)."""
        return self._held

    def _skip_body(self, buf: bytes, pos: int) -> int:
        """Drop token characters from pos; return where they end, or -1 if they run to the end."""
        body = _BODY.match(buf, pos)
        end = body.end() if body else pos
        self._masked = self._masked or end > pos
        if end == len(buf):
            return -1
        self._in_token = False
        return end

    def feed(self, data: bytes, *, scan: bool = True) -> bytes:
        """Mask data; `scan=False` when the caller proved no prefix occurs in held + data."""
        if not self.literals:
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
        hold = self.literals.hold_start(buf, pos)
        present = scan and self.literals.present(buf)
        pattern = self.literals.pattern if present else None
        while True:
            if pos > hold:
                hold = self.literals.hold_start(buf, pos)
            match = pattern.search(buf, pos) if pattern is not None else None
            if match is None or match.start() >= hold:
                if pos == 0 and hold == len(buf) and not out:
                    return buf
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
