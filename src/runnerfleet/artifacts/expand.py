"""Expands `$VAR` and `${VAR}` in helper arguments from the environment (unset: empty)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(text: str, env: Mapping[str, str] | None = None) -> str:
    values = os.environ if env is None else env
    return _VAR.sub(lambda m: values.get(m.group(1) or m.group(2), ""), text)
