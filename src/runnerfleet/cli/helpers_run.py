"""The fast path for helper commands: parse only their flags, import only what they use.

`runnerfleet <helper> ...` is what job scripts run (several times per job), so `main()` hands
those command lines here before loading the rest of the CLI (config, HTTP client, executors).
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

HELPER_COMMANDS = ("artifacts-uploader", "artifacts-downloader", "cache-archiver", "cache-extractor",
                   "cache-init")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def is_helper(args: list[str]) -> bool:
    return bool(args) and args[0] in HELPER_COMMANDS


def run_helper(args: list[str]) -> int:
    """Run `args` (starting with the helper's name); its exit status."""
    from runnerfleet.cli import helpers_artifacts, helpers_cache
    from runnerfleet.cli.helpers_flags import HelperUsageError

    parser = _Parser(prog="runnerfleet")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    helpers_artifacts.add_parser(sub)
    helpers_cache.add_parser(sub)
    try:
        ns = parser.parse_args(args)
        result: int = ns.handler(ns)
        return result
    except (_UsageError, HelperUsageError) as exc:
        from runnerfleet.artifacts.report import Reporter

        Reporter(sys.stdout).fatal(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
