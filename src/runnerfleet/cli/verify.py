"""`runnerfleet verify`: check runner tokens against GitLab; --delete prunes the ones it no longer knows."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from runnerfleet.cli.context import (
    CONFIG_FLAG,
    client_for_runner,
    is_authentication_token,
    load_config,
    saved,
    system_id,
)
from runnerfleet.cli.flags import Flag, add_command, resolve
from runnerfleet.cli.selection import no_runner_error, select_runners
from runnerfleet.errors import ApiError, RunnerfleetError
from runnerfleet.gitlab import runner_info
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")

# --url and --token deliberately have no env fallback, as in gitlab-runner.
FLAGS = [
    CONFIG_FLAG,
    Flag("name", "Name of the runner you wish to verify", short="n"),
    Flag("url", "Runner URL", short="u"),
    Flag("token", "Runner token", short="t"),
    Flag("delete", "Delete no longer existing runners?", kind="bool"),
]


def add_parser(subparsers: Any) -> None:
    add_command(subparsers, "verify", FLAGS, run, summary="verify all registered runners",
                description="Check every (or the selected) runner's token with GitLab.")


def run(ns: argparse.Namespace) -> int:
    values = resolve(ns, FLAGS)
    config = load_config(values.get("config"))
    name, token, url = values.get("name"), values.get("token"), values.get("url")
    runners = select_runners(config.config.runners, name=name, token=token, url=url)
    if not runners and (name or token or url):
        raise no_runner_error(config.path, name, token, url)
    sid = system_id(config)
    invalid: list[int] = []
    for runner in runners:
        glrt = is_authentication_token(runner.token)
        info = runner_info(executor=runner.executor, shell=runner.shell)
        try:
            with client_for_runner(config, runner) as client:
                client.verify_runner(runner.token, system_id=sid, info=info)
        except ApiError as exc:
            if exc.status == 403:
                log.error("Verifying runner... %s", "is not valid" if glrt else "is removed",
                          extra=fields(runner=runner.short_token, name=runner.name))
                invalid.append(runner.index)
            else:
                log.error("Verifying runner... failed: %s", exc,
                          extra=fields(runner=runner.short_token, name=runner.name))
            continue
        except RunnerfleetError as exc:
            # Network trouble says nothing about the token: report it, do not count it.
            log.error("Verifying runner... failed: %s", exc,
                      extra=fields(runner=runner.short_token, name=runner.name))
            continue
        log.info("Verifying runner... %s", "is valid" if glrt else "is alive",
                 extra=fields(runner=runner.short_token, name=runner.name))
    if not invalid:
        return 0
    if not values.get("delete"):
        log.error("Failed to verify runners")
        return 1
    for index in sorted(invalid, reverse=True):
        config.remove_runner(index)
    saved(config)
    return 0
