"""Which [[runners]] entries a command acts on: by --name, --token and --url, as gitlab-runner matches."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.config import RunnerConfig
from runnerfleet.errors import UsageError


def select_runners(
    runners: list[RunnerConfig],
    *,
    name: str | None = None,
    token: str | None = None,
    url: str | None = None,
) -> list[RunnerConfig]:
    """Entries matching every selector given; no selector selects all."""
    chosen = []
    for runner in runners:
        if name and runner.name != name:
            continue
        if token and runner.token != token:
            continue
        if url and runner.url.rstrip("/") != url.rstrip("/"):
            continue
        chosen.append(runner)
    return chosen


def describe_selector(name: str | None, token: str | None, url: str | None,
                      runner_id: int | None = None) -> str:
    from runnerfleet.config import shorten_token

    parts = []
    if name:
        parts.append(f'name "{name}"')
    if token:
        parts.append(f"token {shorten_token(token)}")
    if url:
        parts.append(f"url {url}")
    if runner_id:
        parts.append(f"id {runner_id}")
    return " and ".join(parts) or "any runner"


def no_runner_error(config_path: Path, name: str | None = None, token: str | None = None,
                    url: str | None = None, runner_id: int | None = None) -> UsageError:
    """The usage error of a selection that matched no [[runners]] entry in `config_path`."""
    return UsageError(f"no runner with {describe_selector(name, token, url, runner_id)} in {config_path}")
