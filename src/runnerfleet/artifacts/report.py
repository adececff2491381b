"""Log lines of the helper commands, formatted like gitlab-runner's runner text formatter.

The helpers run inside the job script, so these lines land in the job log exactly where
gitlab-runner's would: a coloured level prefix, the message padded to 50 columns, then the
sorted `key=value` fields. Tokens in fields are shortened by the caller, never logged whole.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TextIO

ANSI_RESET = "\x1b[0;m"
ANSI_YELLOW = "\x1b[0;33m"
ANSI_BOLD_RED = "\x1b[31;1m"
_LEVELS = {
    "info": ("", ""),
    "warning": (ANSI_YELLOW, "WARNING: "),
    "error": (ANSI_BOLD_RED, "ERROR: "),
    "fatal": (ANSI_BOLD_RED, "FATAL: "),
}


def format_line(level: str, message: str, fields: Mapping[str, object] | None = None) -> str:
    """One log line (without newline) as gitlab-runner's RunnerTextFormatter prints it."""
    color, prefix = _LEVELS[level]
    text = f"{color}{prefix}{message:<{50 - len(prefix)}}{ANSI_RESET} "
    for key in sorted(fields or {}):
        text += f" {color}{key}{ANSI_RESET}={(fields or {})[key]}"
    return text


class Reporter:
    """Writes helper log lines to a stream (stdout by default: the job log)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream if self._stream is not None else sys.stdout

    def _emit(self, level: str, message: str, fields: Mapping[str, object] | None) -> None:
        self.stream.write(format_line(level, message, fields) + "\n")
        self.stream.flush()

    def info(self, message: str, **fields: object) -> None:
        self._emit("info", message, fields)

    def warning(self, message: str, **fields: object) -> None:
        self._emit("warning", message, fields)

    def error(self, message: str, **fields: object) -> None:
        self._emit("error", message, fields)

    def fatal(self, message: str, **fields: object) -> None:
        """The last line of a failing helper; the caller then exits 1."""
        self._emit("fatal", message, fields)
