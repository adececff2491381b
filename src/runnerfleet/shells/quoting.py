"""Quoting of arbitrary strings for bash (ANSI-C `$'...'`) and POSIX sh (single quotes)."""

from __future__ import annotations

import re

# fullmatch: `$` would also match before a trailing newline, leaving it unquoted.
_SAFE = re.compile(r"[A-Za-z0-9_\-./:=@%+,]+")
_ANSI_C = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}
# One C-level pass per value (this runs for every exported variable of every stage script).
_ANSI_C_TABLE = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}
_ANSI_C_TABLE.update({ord(ch): escaped for ch, escaped in _ANSI_C.items()})


def bash_quote(value: str) -> str:
    """`value` as one bash word: unquoted when harmless, else ANSI-C quoted (control bytes as \\xHH)."""
    if _SAFE.fullmatch(value):
        return value
    return "$'" + value.translate(_ANSI_C_TABLE) + "'"


def posix_quote(value: str) -> str:
    """`value` as one POSIX shell word: single-quoted, `'` written as `'\\''`."""
    if _SAFE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


