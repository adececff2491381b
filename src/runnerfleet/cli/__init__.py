"""The `runnerfleet` command line, mirroring gitlab-runner's commands and flags."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "coordinator":
        from runnerfleet.coordinator.cli import main as coordinator_main

        return coordinator_main(args[1:])
    print("runnerfleet: commands are being built", file=sys.stderr)
    return 1
