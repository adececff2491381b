"""Masks the values of sensitive URL query parameters (`?private_token=...`) in a byte stream."""

from __future__ import annotations

import re

MASK = b"[MASKED]"

# gitlab-runner's sensitive keys, matched case-insensitively after `?` or `&`.
SENSITIVE_KEYS = (
    "private_token",
    "authenticity_token",
    "rss_token",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
)

_KEY_PATTERN = re.compile(rb"[?&](?:" + b"|".join(re.escape(k.encode()) for k in SENSITIVE_KEYS) + rb")=")
_KEY_TAILS = tuple(k.encode() + b"=" for k in SENSITIVE_KEYS)
_MAX_KEY = max(len(k) for k in _KEY_TAILS) + 1
# The bytes a held tail (`?`/`&` and a proper prefix of a key, any case) can end with.
_PREFIX_END_BYTES = frozenset(b"?&" + b"".join(k[:-1] + k[:-1].upper() for k in _KEY_TAILS))

# A value ends at `?`, `&`, whitespace or a control character (Go's unicode.IsSpace/IsControl,
# including the UTF-8 encoded non-ASCII ones).
_VALUE_END = re.compile(
    rb"[?&\x00-\x20\x7f]|\xc2[\x80-\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
)
# Tails that may still become a multi-byte value end once the next write arrives.
_PARTIAL_END = re.compile(rb"(?:\xc2|\xe1|\xe1\x9a|\xe2|\xe2[\x80\x81]|\xe3|\xe3\x80)\Z")


# Presence tests: `?`/`&` are found with memchr (most chunks have neither), then a regex with a
# literal head per separator (`re` scans for a literal head in C; `[?&]` would be tried at
# every position).
_KEY_ALTERNATION = b"(?i:" + b"|".join(re.escape(k.encode()) for k in SENSITIVE_KEYS) + b")="
_AFTER_QUESTION = re.compile(rb"\?" + _KEY_ALTERNATION)
_AFTER_AMPERSAND = re.compile(b"&" + _KEY_ALTERNATION)


def has_sensitive_key(buf: bytes) -> bool:
    """True when `?key=` or `&key=` of a sensitive key (any case) occurs in buf."""
    return (b"?" in buf and _AFTER_QUESTION.search(buf) is not None) or (
        b"&" in buf and _AFTER_AMPERSAND.search(buf) is not None
    )


def _is_key_prefix(tail: bytes) -> bool:
    lowered = tail.lower()
    return any(len(k) > len(lowered) and k.startswith(lowered) for k in _KEY_TAILS)


class UrlParamMasker:
    """Replaces the value of each sensitive query parameter by `[MASKED]`, split-independently."""

    def __init__(self) -> None:
        self._held = b""
        self._masking = False

    @property
    def held(self) -> bytes:
        """Bytes not yet released (a `?`/`&` and the start of a key, or a partial value end)."""
        return self._held

    def _hold_start(self, buf: bytes, start: int) -> int:
        size = len(buf)
        if size == 0 or buf[-1] not in _PREFIX_END_BYTES:
            return size
        lower = max(start, size - _MAX_KEY)
        i = lower
        while i < size:
            byte = buf[i]
            if (byte == 0x3F or byte == 0x26) and _is_key_prefix(buf[i + 1 :]):
                return i
            i += 1
        return size

    def _skip_value(self, buf: bytes, pos: int) -> int:
        """Consume a value from pos; return where it ends, or -1 (still masking, tail held)."""
        end = _VALUE_END.search(buf, pos)
        if end is not None:
            self._masking = False
            return end.start()
        partial = _PARTIAL_END.search(buf, max(pos, len(buf) - 2))
        self._held = buf[partial.start() :] if partial else b""
        return -1

    def feed(self, data: bytes, *, scan: bool = True) -> bytes:
        """Mask data; `scan=False` when the caller proved no key occurs in held + data."""
        buf = self._held + data if self._held else data
        self._held = b""
        out: list[bytes] = []
        pos = 0
        if self._masking:
            pos = self._skip_value(buf, 0)
            if pos < 0:
                return b""
            out.append(MASK)
        hold = self._hold_start(buf, pos)
        present = scan and has_sensitive_key(buf)
        # Keys match case-insensitively: search a lower-cased copy (same offsets, ASCII only).
        lowered = buf.lower() if present else buf
        while True:
            if pos > hold:
                hold = self._hold_start(buf, pos)
            match = _KEY_PATTERN.search(lowered, pos) if present else None
            if match is None or match.start() >= hold:
                if pos == 0 and hold == len(buf) and not out:
                    return buf
                out.append(buf[pos:hold])
                self._held = buf[hold:]
                return b"".join(out)
            out.append(buf[pos : match.end()])
            self._masking = True
            pos = self._skip_value(buf, match.end())
            if pos < 0:
                return b"".join(out)
            out.append(MASK)

    def flush(self) -> bytes:
        if self._masking:
            self._masking = False
            self._held = b""
            return MASK
        held, self._held = self._held, b""
        return held
