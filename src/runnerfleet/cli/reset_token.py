"""`runnerfleet reset-token`: rotate runner tokens in GitLab and store the new ones in config.toml."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from typing import Any

from runnerfleet.cli.context import CONFIG_FLAG, client_for_runner, load_config, saved
from runnerfleet.cli.flags import Flag, add_command, resolve
from runnerfleet.cli.selection import no_runner_error
from runnerfleet.config import ConfigFile, RunnerConfig
from runnerfleet.errors import RunnerfleetError, UsageError
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")

FLAGS = [
    CONFIG_FLAG,
    Flag("name", "Name of the runner whose token to reset", short="n"),
    Flag("url", "URL of the runner whose token to reset (with --id)", short="u"),
    Flag("id", "ID of the runner whose token to reset (with --url)", short="i", kind="int"),
    Flag("pat", "Personal access token to reset the token by runner ID", env="GITLAB_PAT"),
    Flag("all-runners", "Reset the token of every runner", kind="bool"),
]


def add_parser(subparsers: Any) -> None:
    add_command(subparsers, "reset-token", FLAGS, run, summary="reset a runner's token",
                description="Rotate runner authentication tokens, with the current token or with a "
                "personal access token (--pat) and the runner ID.")


def run(ns: argparse.Namespace) -> int:
    values = resolve(ns, FLAGS)
    config = load_config(values.get("config"))
    targets = _targets(config, values)
    failed = 0
    for runner in targets:
        try:
            _reset(config, runner, values.get("pat"))
        except RunnerfleetError as exc:
            failed += 1
            log.error("Resetting the token failed: %s", exc,
                      extra=fields(runner=runner.short_token, name=runner.name))
    if failed < len(targets):
        saved(config)
    return 1 if failed else 0


def _targets(config: ConfigFile, values: dict[str, Any]) -> list[RunnerConfig]:
    runners = config.config.runners
    if values.get("all_runners"):
        return list(runners)
    name, url, runner_id = values.get("name"), values.get("url"), values.get("id")
    if name:
        chosen = [r for r in runners if r.name == name][:1]
    elif url and runner_id is not None:
        chosen = [r for r in runners
                  if r.url.rstrip("/") == url.rstrip("/") and r.id == runner_id][:1]
    else:
        raise UsageError("select a runner with --name, with --url and --id, or use --all-runners")
    if not chosen:
        raise no_runner_error(config.path, name, None, url, runner_id)
    return chosen


def _reset(config: ConfigFile, runner: RunnerConfig, pat: str | None) -> None:
    with client_for_runner(config, runner) as client:
        if pat:
            if not runner.id:
                raise UsageError(f'runner "{runner.name}" has no id in {config.path}; '
                                 "reset it with its current token (without --pat)")
            result = client.reset_token_with_pat(runner.id, pat)
        else:
            result = client.reset_token(runner.token)
    config.update_runner(runner.index, {
        "token": result.token,
        "token_obtained_at": datetime.now(UTC).replace(microsecond=0),
        "token_expires_at": result.token_expires_at,
    })
    log.info("Runner token reset", extra=fields(name=runner.name,
                                                 runner=config.config.runners[runner.index].short_token))
