"""The `runnerfleet` command line, mirroring gitlab-runner's commands and flags."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from typing import NoReturn

from runnerfleet import log as logsetup
from runnerfleet.errors import RunnerfleetError, UsageError
from runnerfleet.version import REVISION, VERSION, go_arch, go_platform, version_text

log = logging.getLogger("runnerfleet.cli")

# Commands with their own argument parsing, handed the rest of the command line.
_PASSTHROUGH = {"coordinator"}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one runnerfleet error line (exit 1, like gitlab-runner)."""

    def error(self, message: str) -> NoReturn:
        match = re.search(r"invalid choice: '([^']*)'", message)
        if match and "COMMAND" in message:
            raise UsageError(f"Command {match.group(1)} not found.")
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


# Each command's module, by the command names it defines: a command line that names one loads
# that module only (the others pull in HTTP, TOML and YAML libraries it does not need).
_COMMAND_MODULES = {
    "register": "register", "unregister": "unregister", "verify": "verify",
    "list": "list_runners", "reset-token": "reset_token", "run": "run", "run-single": "run_single",
    "artifacts-uploader": "helpers_artifacts", "artifacts-downloader": "helpers_artifacts",
    "cache-archiver": "helpers_cache", "cache-extractor": "helpers_cache",
    "cache-init": "helpers_cache", "lint": "lint", "ci": "lint", "exec": "exec_cmd",
    "install": "service_cmds", "uninstall": "service_cmds", "start": "service_cmds",
    "stop": "service_cmds", "restart": "service_cmds", "status": "service_cmds",
}
# Global options that take a value (the command is the first word that is neither).
_VALUED_OPTIONS = {"-l", "--log-level", "--log-format", "--cpuprofile"}


def command_of(args: list[str]) -> str | None:
    """The command a command line names, or None (help, a typo, only global options)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser for `command` alone when it is a known one, else for every command."""
    import importlib

    if command in _PASSTHROUGH:
        names = []
    elif command in _COMMAND_MODULES:
        names = [_COMMAND_MODULES[command]]
    else:
        names = list(dict.fromkeys(_COMMAND_MODULES.values()))
    modules = [importlib.import_module(f"runnerfleet.cli.{name}") for name in names]

    parser = _Parser(
        prog="runnerfleet",
        description="A GitLab Runner in Python: gitlab-runner's config.toml, commands and API.",
    )
    parser.add_argument("-v", "--version", action="store_true", help="print the version")
    parser.add_argument("--debug", action="store_true", default=None,
                        help="debug logging [$RUNNER_DEBUG]")
    parser.add_argument("-l", "--log-level", default=None,
                        help="debug, info, warn, error, fatal, panic [$LOG_LEVEL]")
    parser.add_argument("--log-format", default=None, help="runner, text, json [$LOG_FORMAT]")
    parser.add_argument("--cpuprofile", default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in modules:
        module.add_parser(sub)
    sub.add_parser("coordinator", help="run the local GitLab-compatible coordinator (SQLite)",
                   add_help=False)
    return parser


def _setup_logging(ns: argparse.Namespace) -> None:
    debug = ns.debug or os.environ.get("RUNNER_DEBUG", "").lower() in ("1", "true")
    level = "debug" if debug else (ns.log_level or os.environ.get("LOG_LEVEL") or "info")
    fmt = ns.log_format or os.environ.get("LOG_FORMAT") or "runner"
    if level.lower() not in logsetup.LEVELS:
        raise RunnerfleetError(f'--log-level: "{level}" is not one of debug, info, warn, error, '
                               "fatal, panic")
    if fmt not in logsetup.FORMATS:
        raise RunnerfleetError(f'--log-format: "{fmt}" is not one of runner, text, json')
    logsetup.setup(level, fmt)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    # Job scripts call the helpers (and `--version` as their guard) at every cache/artifact
    # stage: answer those without loading the rest of the CLI.
    from runnerfleet.cli.helpers_run import is_helper, run_helper

    if is_helper(args):
        return run_helper(args)
    if args in (["--version"], ["-v"]):
        print(version_text())
        return 0
    parser = build_parser(command_of(args))
    # Global options come before the command; everything after a passthrough command is its own.
    split = next((i for i, a in enumerate(args) if a in _PASSTHROUGH), None)
    head, tail = (args, []) if split is None else (args[: split + 1], args[split + 1 :])
    try:
        ns = parser.parse_args(head)
        _setup_logging(ns)
        if ns.version:
            print(version_text())
            return 0
        if ns.command is None:
            parser.print_help()
            return 0
        if ns.command == "coordinator":
            from runnerfleet.coordinator.cli import main as coordinator_main

            return coordinator_main(tail)
        log.debug("Runtime platform", extra=logsetup.fields(
            arch=go_arch(), os=go_platform(), pid=os.getpid(), revision=REVISION, version=VERSION))
        result: int = ns.handler(ns)
        return result
    except RunnerfleetError as exc:
        logsetup.setup()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            log.error(line)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `runnerfleet list | head`: the reader left; nothing more to say.
        sys.stderr.close()
        return 0
