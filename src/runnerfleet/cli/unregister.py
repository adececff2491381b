"""`runnerfleet unregister`: delete a runner (or this host's runner manager) in GitLab and config.toml."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from runnerfleet.cli.context import (
    CONFIG_FLAG,
    client_for,
    client_for_runner,
    is_authentication_token,
    load_config,
    saved,
    system_id,
)
from runnerfleet.cli.flags import Flag, add_command, resolve
from runnerfleet.cli.selection import no_runner_error, select_runners
from runnerfleet.config import ConfigFile, RunnerConfig, shorten_token
from runnerfleet.errors import RunnerfleetError, UsageError
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")

FLAGS = [
    CONFIG_FLAG,
    Flag("name", "Name of the runner you wish to unregister", short="n"),
    Flag("url", "Runner URL", short="u", env="CI_SERVER_URL"),
    Flag("token", "Runner's authentication token", short="t", env="CI_SERVER_TOKEN"),
    Flag("all-runners", "Unregister all runners", kind="bool"),
]


def add_parser(subparsers: Any) -> None:
    add_command(subparsers, "unregister", FLAGS, run, summary="unregister specific runner",
                description="Delete runners in GitLab and remove them from config.toml. Runners created "
                "in GitLab (glrt- tokens) only lose this host's runner manager.")


def run(ns: argparse.Namespace) -> int:
    values = resolve(ns, FLAGS)
    config = load_config(values.get("config"))
    name, token, url = values.get("name"), values.get("token"), values.get("url")
    if values.get("all_runners"):
        targets = list(config.config.runners)
        if not targets:
            log.warning("No runners in %s", config.path)
            return 0
    else:
        if not name and not token:
            raise UsageError("at least one of --name or --token must be specified "
                             "(or --all-runners)")
        targets = select_runners(config.config.runners, name=name, token=token)[:1]
        if not targets:
            if token and url:
                # Not in this file: still delete it in GitLab, as gitlab-runner does.
                _unregister_unknown(config, url, token)
                return 0
            raise no_runner_error(config.path, name, token)
    failed = 0
    removed: list[int] = []
    for runner in targets:
        try:
            _unregister(config, runner)
            removed.append(runner.index)
        except RunnerfleetError as exc:
            failed += 1
            log.error("Failed to unregister runner %s: %s", runner.name, exc,
                      extra=fields(runner=runner.short_token))
    for index in sorted(removed, reverse=True):
        config.remove_runner(index)
    if removed:
        saved(config)
    return 1 if failed else 0


def _unregister(config: ConfigFile, runner: RunnerConfig) -> None:
    with client_for_runner(config, runner) as client:
        if is_authentication_token(runner.token):
            client.unregister_runner_manager(runner.token, system_id(config))
            what = "runner manager"
        else:
            client.unregister_runner(runner.token)
            what = "runner"
    log.info("Unregistering %s from GitLab succeeded", what,
             extra=fields(runner=runner.short_token, name=runner.name))


def _unregister_unknown(config: ConfigFile, url: str, token: str) -> None:
    with client_for(config, url) as client:
        if is_authentication_token(token):
            client.unregister_runner_manager(token, system_id(config))
        else:
            client.unregister_runner(token)
    log.info("Unregistering runner from GitLab succeeded (it was not in %s)", config.path,
             extra=fields(runner=shorten_token(token)))
