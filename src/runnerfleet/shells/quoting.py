"""Quoting of arbitrary strings for bash (ANSI-C `$'...'`) and POSIX sh (single quotes)."""

from __future__ import annotations

import re

_SAFE = re.compile(r"^[A-Za-z0-9_\-./:=@%+,]+$")
_ANSI_C = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def bash_quote(value: str) -> str:
    """`value` as one bash word: unquoted when harmless, else ANSI-C quoted (control bytes as \\xHH)."""
    if _SAFE.match(value):
        return value
    out = []
    for ch in value:
        if ch in _ANSI_C:
            out.append(_ANSI_C[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def posix_quote(value: str) -> str:
    """`value` as one POSIX shell word: single-quoted, `'` written as `'\\''`."""
    if _SAFE.match(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


