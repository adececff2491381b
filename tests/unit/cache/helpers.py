"""Run the real `runnerfleet` helper commands as job scripts do: a subprocess in the project dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Ran:
    code: int
    output: str


def runnerfleet(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Ran:
    """`python -m runnerfleet <args>` in `cwd`; merged output without colours."""
    full_env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    full_env.update(env or {})
    result = subprocess.run([sys.executable, "-m", "runnerfleet", *args], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    return Ran(result.returncode, _ANSI.sub("", result.stdout))
