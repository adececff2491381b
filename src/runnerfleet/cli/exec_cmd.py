"""`runnerfleet exec`: run the current project's `.gitlab-ci.yml` on this machine."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from runnerfleet.errors import UsageError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "exec", help="run the pipeline of the current working tree locally",
        description="Run the .gitlab-ci.yml of the current git working tree through an "
        "in-process coordinator and runnerfleet's own runner (committed HEAD unless "
        "--uncommitted). JOB names select jobs; their needs run too.")
    parser.add_argument("jobs", nargs="*", metavar="JOB", help="jobs to run (default: all)")
    parser.add_argument("--executor", choices=("shell", "docker"), default="shell",
                        help="executor for the jobs (default shell)")
    parser.add_argument("--variable", action="append", default=[], metavar="KEY=VALUE",
                        help="a pipeline variable (repeatable)")
    parser.add_argument("--list", action="store_true", help="print the jobs and exit")
    parser.add_argument("--skip-delays", action="store_true",
                        help="start `when: delayed` jobs at once instead of after their "
                        "start_in (default: wait, as GitLab does)")
    parser.add_argument("--uncommitted", action="store_true",
                        help="run the working tree including uncommitted changes")
    parser.add_argument("--docker-image", default=None,
                        help="default image for jobs without `image:` (docker executor)")
    parser.add_argument("--concurrent", type=int, default=None,
                        help="jobs run at once (default: as many as the DAG allows, up to 4 "
                        "per CPU and at least 8)")
    parser.set_defaults(handler=run)


def _variables(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f'--variable "{item}": expected KEY=VALUE')
        out[key] = value
    return out


def run(ns: argparse.Namespace) -> int:
    from runnerfleet.exec import ExecOptions, list_jobs, run_exec

    if not ns.debug:
        # The jobs' own logs are the output; the runner's request/update lines would drown them
        # (workers racing for the same job also get 409s, which are expected here).
        logging.getLogger("runnerfleet").setLevel(logging.ERROR)
        logging.getLogger("runnerfleet.cli").setLevel(logging.INFO)

    options = ExecOptions(cwd=Path.cwd(), jobs=list(ns.jobs), executor=ns.executor,
                          variables=_variables(ns.variable), uncommitted=ns.uncommitted,
                          concurrent=None if ns.concurrent is None else max(1, ns.concurrent),
                          image=ns.docker_image, colour=sys.stdout.isatty(),
                          skip_delays=ns.skip_delays)
    if ns.list:
        return list_jobs(options, sys.stdout)
    return run_exec(options, sys.stdout)
