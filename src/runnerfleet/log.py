"""Process logging in gitlab-runner's "runner" format: a message, then `key=value` fields."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "panic": logging.CRITICAL,
}
FORMATS = ("runner", "text", "json")

_PREFIX = {logging.WARNING: "WARNING: ", logging.ERROR: "ERROR: ", logging.CRITICAL: "FATAL: "}
_COLOUR = {logging.WARNING: "\033[0;33m", logging.ERROR: "\033[31;1m", logging.CRITICAL: "\033[31;1m"}
_RESET = "\033[0;m"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: the `key=value` pairs gitlab-runner appends to a message."""
    return {"fields": values}


class RunnerFormatter(logging.Formatter):
    """`WARNING: message  key=value ...`, coloured on a terminal like gitlab-runner's."""

    def __init__(self, *, colour: bool, style_name: str = "runner") -> None:
        super().__init__()
        self.colour = colour
        self.style_name = style_name

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        extra: Mapping[str, Any] = getattr(record, "fields", {}) or {}
        if self.style_name == "json":
            payload = {"level": record.levelname.lower(), "msg": message, **extra}
            return json.dumps(payload, default=str)
        if self.style_name == "text":
            pairs = " ".join(f"{k}={_quote(v)}" for k, v in extra.items())
            return f'level={record.levelname.lower()} msg={_quote(message)} {pairs}'.rstrip()
        if record.exc_info and record.exc_info[1] is not None:
            # One line with what failed; the traceback only when debugging.
            error = record.exc_info[1]
            extra = {**extra, "error": f"{type(error).__name__}: {error}"}
            if record.levelno <= logging.DEBUG or logging.getLogger("runnerfleet").level <= logging.DEBUG:
                message = message + "\n" + self.formatException(record.exc_info)
        text = _PREFIX.get(record.levelno, "") + message
        if extra:
            text = f"{text:<50} " + " ".join(f"{k}={_quote(v)}" for k, v in extra.items())
        if self.colour and record.levelno in _COLOUR:
            text = _COLOUR[record.levelno] + text + _RESET
        return text


def _quote(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=')) else text


def setup(level: str = "info", log_format: str = "runner", stream: TextIO | None = None) -> None:
    """Send runnerfleet's log records to stderr in the chosen format (idempotent)."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(RunnerFormatter(colour=out.isatty(), style_name=log_format))
    root = logging.getLogger("runnerfleet")
    root.handlers[:] = [handler]
    root.setLevel(LEVELS.get(level.lower(), logging.INFO))
    root.propagate = False
