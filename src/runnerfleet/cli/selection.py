"""Which [[runners]] entries a command acts on: by --name, --token and --url, as gitlab-runner matches."""

from __future__ import annotations

from runnerfleet.config import RunnerConfig


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


def describe_selector(name: str | None, token: str | None, url: str | None) -> str:
    from runnerfleet.config import shorten_token

    parts = []
    if name:
        parts.append(f'name "{name}"')
    if token:
        parts.append(f"token {shorten_token(token)}")
    if url:
        parts.append(f"url {url}")
    return " and ".join(parts) or "any runner"
