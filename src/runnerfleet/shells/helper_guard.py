"""What cache and artifact stages share: the helper command, its availability guard, `when` filters."""

from __future__ import annotations

from collections.abc import Callable

from runnerfleet.shells.build_info import BuildInfo
from runnerfleet.shells.runner_command import local_runner_command
from runnerfleet.shells.writer import ShellWriter


def runner_command(build: BuildInfo) -> str:
    return local_runner_command() if build.runner_command is None else build.runner_command


def guard(w: ShellWriter, build: BuildInfo, action: str, body: Callable[[], None]) -> None:
    """Run `body`'s commands only when the helper answers `--version` (gitlab-runner's guard)."""
    command = runner_command(build)
    if not command:
        w.warning(f"{action} is not supported by this executor.")
        return
    w.if_cmd(f"{w.q(command)} --version >/dev/null 2>&1")
    body()
    w.else_()
    # gitlab-runner's line first (users grep for it), then how to get the helper there.
    w.warning(f"Missing {command}. {action} is disabled. {install_hint(command)}")
    w.end_if()


def install_hint(command: str) -> str:
    """How to make `command` answer where the job runs (an SSH host, a VM, a custom helper image)."""
    return (f"Install runnerfleet where the job runs so that `{command}` is on the login shell's PATH "
            "(e.g. `python3 -m pip install runnerfleet`, or pip install the wheels from `pip wheel` "
            "with --no-index --find-links when the host has no index), then retry the job.")


def runner_url(build: BuildInfo) -> str:
    """The runner's `url` from config.toml; without a runner config, GitLab's CI_SERVER_URL."""
    if build.runner is not None:
        return build.runner.url
    return build.setting("CI_SERVER_URL")


def short_token(build: BuildInfo) -> str:
    if build.runner is not None and build.runner.token:
        return build.runner.short_token
    return build.setting("CI_RUNNER_SHORT_TOKEN")


def when_matches(when: str, on_success: bool) -> bool:
    """`on_success` (default) on success, `on_failure` on failure, `always` on both."""
    value = when or "on_success"
    if value == "always":
        return True
    return value == ("on_success" if on_success else "on_failure")
