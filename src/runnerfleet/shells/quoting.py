"""Quoting of arbitrary strings for bash (ANSI-C `$'...'`) and POSIX sh (single quotes)."""

from __future__ import annotations

import re

# fullmatch: `$` would also match before a trailing newline, leaving it unquoted.
_SAFE = re.compile(r"[A-Za-z0-9_\-./:=@%+,]+")
# Other control bytes as \xHH (\n, \t, \r have their own escapes).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _hex_escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def bash_quote(value: str) -> str:
    """`value` as one bash word: unquoted when harmless, else ANSI-C quoted (control bytes as \\xHH)."""
    if _SAFE.fullmatch(value):
        return value
    # C-level replaces: this quotes every exported variable and each whole stage body.
    out = (value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
           .replace("\t", "\\t").replace("\r", "\\r"))
    if _CONTROL.search(out):
        out = _CONTROL.sub(_hex_escape, out)
    return "$'" + out + "'"


def posix_quote(value: str) -> str:
    """`value` as one POSIX shell word: single-quoted, `'` written as `'\\''`."""
    if _SAFE.fullmatch(value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


