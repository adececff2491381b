"""Flag plumbing shared by the helper commands: env fallbacks, Go booleans and Go durations.

Kept apart from `cli.flags` on purpose: that module loads the config and client packages, and
the helpers must start in a few tens of milliseconds inside every job script.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class HelperUsageError(ValueError):
    """A helper flag value that cannot be used; one line naming the flag."""


def go_bool(text: str | None, name: str) -> bool:
    if text is None:
        return False
    lowered = str(text).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise HelperUsageError(f'--{name}: expected true or false, got "{text}"')


def go_duration(text: str, name: str) -> float:
    """Seconds of a Go duration (`1h0m0s`, `10m`, `90s`); a bare number is seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    pos, total = 0, 0.0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            raise HelperUsageError(f'--{name}: expected a duration like "1h0m0s" or "10m", got "{text}"')
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if not text:
        raise HelperUsageError(f"--{name}: empty duration")
    return total


def env_default(name: str | None, default: Any = None) -> Any:
    if name and os.environ.get(name):
        return os.environ[name]
    return default


def add(parser: argparse.ArgumentParser, long: str, help: str, *, env: str | None = None,
        default: Any = None, repeat: bool = False, flag: bool = False) -> None:
    """`--long VALUE` (or `--long=VALUE`); `flag` makes the value optional (`--untracked`)."""
    suffix = f" [${env}]" if env else ""
    dest = long.replace("-", "_")
    if repeat:
        parser.add_argument(f"--{long}", dest=dest, action="append", default=[], help=help + suffix,
                            metavar="VALUE")
    elif flag:
        parser.add_argument(f"--{long}", dest=dest, nargs="?", const="true",
                            default=env_default(env, default), help=help + suffix, metavar="BOOL")
    else:
        parser.add_argument(f"--{long}", dest=dest, default=env_default(env, default), help=help + suffix,
                            metavar="VALUE")


def integer(text: Any, name: str, default: int = 0) -> int:
    if text is None or text == "":
        return default
    try:
        return int(str(text).strip())
    except ValueError:
        raise HelperUsageError(f'--{name}: expected a whole number, got "{text}"') from None
