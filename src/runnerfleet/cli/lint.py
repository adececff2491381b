"""`runnerfleet lint [FILE]` (also `ci lint`): validate a .gitlab-ci.yml as GitLab's CI Lint does."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runnerfleet.errors import UsageError
from runnerfleet.pipeline import PipelineError
from runnerfleet.pipeline.entries import load_pipeline


def add_parser(subparsers: Any) -> None:
    for name in ("lint", "ci"):
        parser = subparsers.add_parser(
            name, help="validate a .gitlab-ci.yml (GitLab's CI Lint messages)" if name == "lint"
            else "CI helpers: `ci lint [FILE]`",
            description="Check a .gitlab-ci.yml; print GitLab's lint errors, exit 1 when any.")
        if name == "ci":
            parser.add_argument("action", choices=["lint"], help="lint")
        parser.add_argument("file", nargs="?", default=".gitlab-ci.yml",
                            help="the file to check (default ./.gitlab-ci.yml); includes are "
                                 "read relative to its folder")
        parser.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    path = Path(ns.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror}); pass the .gitlab-ci.yml to check") \
            from None
    try:
        load_pipeline(text, root=path.resolve().parent)
    except PipelineError as exc:
        print("Syntax is incorrect")
        for line in exc.problems:
            print(line)
        return 1
    print("Syntax is correct")
    return 0
