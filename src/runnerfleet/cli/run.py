"""`runnerfleet run`: the multi-runner service, with gitlab-runner's flags (engine spec §3.5)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from runnerfleet.cli.context import CONFIG_FLAG
from runnerfleet.cli.flags import Flag, add_flags, resolve
from runnerfleet.config import resolve_config_path

FLAGS = [
    CONFIG_FLAG,
    Flag("listen-address", "Metrics / pprof server listening address", env="LISTEN_ADDRESS",
         metavar="HOST:PORT"),
    Flag("service", "Use different names for different services", short="n"),
    Flag("working-directory", "Specify custom working directory", short="d", metavar="DIR"),
    Flag("user", "Use specific user to execute shell scripts", short="u"),
    Flag("syslog", "Log to system service logger", kind="bool", env="LOG_SYSLOG"),
]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run multi runner service",
        description="Serve the runners of config.toml: ask GitLab for jobs and run them. "
        "SIGQUIT stops gracefully (running jobs finish), SIGTERM/SIGINT abort running jobs, "
        "SIGHUP reloads the config.")
    add_flags(parser, FLAGS)
    parser.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    from runnerfleet.service.multi import RunOptions, RunService

    values = resolve(ns, FLAGS)
    workdir = values.get("working_directory")
    options = RunOptions(
        config_path=resolve_config_path(values.get("config")),
        working_directory=Path(workdir) if workdir else None,
        user=values.get("user") or "",
        service_name=values.get("service") or "gitlab-runner",
        listen_address=values.get("listen_address"),
        syslog=bool(values.get("syslog")),
        log_level_fixed=bool(getattr(ns, "log_level", None) or getattr(ns, "debug", None)
                             or os.environ.get("LOG_LEVEL")
                             or os.environ.get("RUNNER_DEBUG", "").lower() in ("1", "true")),
        log_format_fixed=bool(getattr(ns, "log_format", None) or os.environ.get("LOG_FORMAT")),
    )
    return RunService(options).execute()
