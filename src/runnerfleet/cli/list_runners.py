"""`runnerfleet list`: the configured runners, one line each (tokens shortened, never whole)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from runnerfleet.cli.context import CONFIG_FLAG, load_config
from runnerfleet.cli.flags import add_flags, resolve
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("list", help="List all configured runners",
                                   description="List the runners in config.toml.")
    add_flags(parser, [CONFIG_FLAG])
    parser.set_defaults(handler=run)


def run(ns: argparse.Namespace) -> int:
    values = resolve(ns, [CONFIG_FLAG])
    config = load_config(values.get("config"))
    log.info("Listing configured runners", extra=fields(ConfigFile=config.path))
    for runner in config.config.runners:
        # gitlab-runner prints the whole token here; a secret never goes to a terminal or log.
        log.info(runner.name, extra=fields(Executor=runner.executor, Token=runner.short_token,
                                           URL=runner.url))
    return 0
