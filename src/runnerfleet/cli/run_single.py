"""`runnerfleet run-single`: one runner from flags or from one config entry (engine spec §3.6)."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path
from typing import Any

from runnerfleet.cli.context import CONFIG_FLAG
from runnerfleet.cli.flags import Flag, add_flags, nest, resolve
from runnerfleet.config import ConfigFile, RunnerConfig, load_system_id, resolve_config_path
from runnerfleet.errors import ConfigError, UsageError

OWN_FLAGS = [
    CONFIG_FLAG,
    Flag("runner", "Runner name from the config file to use instead of command-line arguments",
         short="r"),
    Flag("max-builds", "How many builds to process before exiting", kind="int"),
    Flag("wait-timeout", "How long to wait in seconds before receiving the first job", kind="int"),
    Flag("name", "Runner name", env="RUNNER_NAME", aliases=("description",)),
    Flag("url", "GitLab instance URL", short="u", env="CI_SERVER_URL"),
    Flag("token", "Runner token", short="t", env="CI_SERVER_TOKEN"),
    Flag("executor", "Select executor, eg. shell, docker, etc.", env="RUNNER_EXECUTOR"),
    Flag("working-directory", "Working directory for builds of the shell executor", short="d",
         metavar="DIR"),
    Flag("user", "Use specific user to execute shell scripts"),
]


def settings_flags() -> list[Flag]:
    from runnerfleet.cli.register import config_flags

    own = {f.long for f in OWN_FLAGS} | {a for f in OWN_FLAGS for a in f.aliases}
    return [f for f in config_flags() if f.long not in own]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run-single", help="start single runner",
        description="Run jobs of one runner given by flags (--url, --token, --executor and any "
        "[[runners]] setting) or by -c/--config and -r/--runner NAME.")
    add_flags(parser, OWN_FLAGS)
    add_flags(parser.add_argument_group("runner settings (as in [[runners]])"), settings_flags())
    parser.set_defaults(handler=run)


def runner_from_args(values: dict[str, Any], settings: dict[str, Any], config_path: Path
                     ) -> RunnerConfig:
    """The runner to serve: the named config entry, or one built (and validated) from flags."""
    name = values.get("runner")
    if name:
        config = ConfigFile.load(config_path, missing_ok=False)
        for runner in config.config.runners:
            if runner.name == name:
                return runner
        raise ConfigError(f'{config_path}: no [[runners]] entry named "{name}" (-r/--runner)')
    for key, label in (("url", "URL"), ("token", "Token"), ("executor", "Executor")):
        if not values.get(key):
            raise UsageError(f"Missing {label}: pass --{key} (or -c FILE -r NAME)")
    entry = {"name": values.get("name") or socket.gethostname(), "url": values["url"],
             "token": values["token"], "executor": values["executor"], **settings}
    scratch = ConfigFile.from_text("", path="run-single flags")
    return scratch.add_runner(entry)


def run(ns: argparse.Namespace) -> int:
    from runnerfleet.executors import get_provider, provider_names
    from runnerfleet.service.single import SingleOptions, SingleRunner, random_system_id

    values = resolve(ns, OWN_FLAGS)
    flags = settings_flags()
    settings = nest({f.key_path: v for f, v in ((f, resolve(ns, [f]).get(f.dest)) for f in flags)
                     if v is not None})
    config_path = resolve_config_path(values.get("config"))
    runner = runner_from_args(values, settings, config_path)
    if get_provider(runner.executor) is None:
        raise UsageError(f'Unknown executor: "{runner.executor}" (runnerfleet runs '
                         + ", ".join(provider_names()) + ")")
    # A config entry keeps this host's id; a runner given by flags gets a fresh one (as gitlab-runner).
    system_id = load_system_id(config_path.parent) if values.get("runner") else random_system_id()
    workdir = values.get("working_directory")
    options = SingleOptions(
        runner=runner, config_path=config_path, system_id=system_id,
        max_builds=max(0, values.get("max_builds") or 0),
        wait_timeout=max(0, values.get("wait_timeout") or 0),
        working_directory=Path(workdir).absolute() if workdir else None,
        user=values.get("user") or "",
    )
    return SingleRunner(options).execute()
