"""The runnerfleet executable job scripts call for helper commands when the job runs on this host."""

from __future__ import annotations

import os
import shutil
import sys
from functools import lru_cache


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


@lru_cache(maxsize=1)
def local_runner_command() -> str:
    """Absolute path of this installation's `runnerfleet` script (gitlab-runner's os.Executable()).

    The running program when it is that script; else the one next to this Python (a virtualenv
    or `pip install`), else the first on PATH; "" when there is none.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).startswith("runnerfleet") and _executable(argv0):
        return os.path.abspath(argv0)
    sibling = os.path.join(os.path.dirname(sys.executable), "runnerfleet")
    if _executable(sibling):
        return sibling
    return shutil.which("runnerfleet") or ""
