"""The systemd files of a runnerfleet service: unit, proxy drop-in, 0600 proxy environment file.

One implementation for `runnerfleet install` and the collection's `runner_service` module. The
unit runs `runnerfleet run` like gitlab-runner's `install` does, plus what a graceful stop
needs: SIGQUIT to the main process only (running jobs finish), a stop timeout to drain, SIGHUP
to reload config.toml. Proxy URLs (which may carry a password) go to an environment file only
root can read, so they never appear in the unit or in `systemctl show`.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

UNIT_MODE = 0o644
ENV_MODE = 0o600
DROPIN_NAME = "proxy.conf"
_TIMEOUT = re.compile(r"^(infinity|\d+(us|ms|s|min|m|h|d|w)?( ?\d+(us|ms|s|min|m|h|d|w))*)$")
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9:_.\\-]+$")


@dataclass(frozen=True)
class ServiceSpec:
    """What the unit runs and how it stops, as the module's options give it."""

    name: str
    executable: str
    config_file: str
    working_directory: str
    user: str | None = None
    job_user: str | None = None
    drain_timeout: str = "3600"
    description: str = ""
    # Who writes the unit (its first comment line): the module or `runnerfleet install`.
    managed_by: str = "runnerfleet.gitlab.runner_service"


@dataclass(frozen=True)
class PlannedFile:
    """One file the service needs (`content` None: the file must not exist)."""

    path: str
    content: str | None
    mode: int
    secret: bool = False


def spec_problem(spec: ServiceSpec) -> str | None:
    """Why these options cannot make a unit, as one line naming the option, or None."""
    if not _SERVICE_NAME.match(spec.name):
        return f"name {spec.name!r} is not a systemd unit name (letters, digits, : _ . - and \\ only)"
    if not _TIMEOUT.match(spec.drain_timeout.strip()):
        return (f"drain_timeout {spec.drain_timeout!r} is not a systemd time span (seconds like "
                "3600, 2h, 90min, or infinity)")
    for option in ("executable", "config_file", "working_directory"):
        if not os.path.isabs(getattr(spec, option)):
            return f"{option} must be an absolute path, got {getattr(spec, option)!r}"
    return None


def exec_quote(arg: str) -> str:
    """One ExecStart= argument: double-quoted, with systemd's specifier and variable escapes."""
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def render_unit(spec: ServiceSpec) -> str:
    argv = [spec.executable, "run", "--config", spec.config_file, "--working-directory",
            spec.working_directory, "--service", spec.name]
    if spec.job_user:
        argv += ["--user", spec.job_user]
    lines = [
        f"# Managed by {spec.managed_by}; local changes are overwritten.",
        "[Unit]",
        "Description=%s" % (spec.description or f"runnerfleet GitLab Runner ({spec.name})"),
        f"ConditionFileIsExecutable={spec.executable}",
        "After=network-online.target",
        "Wants=network-online.target",
        "StartLimitIntervalSec=5",
        "StartLimitBurst=10",
        "",
        "[Service]",
        "ExecStart=" + " ".join(exec_quote(a) for a in argv),
        "ExecReload=/bin/kill -HUP $MAINPID",
        # SIGQUIT is the runner's graceful stop; `mixed` sends it to the runner alone, so the
        # jobs' own processes are not signalled and finish; the rest is killed at the timeout.
        "KillSignal=SIGQUIT",
        "KillMode=mixed",
        f"TimeoutStopSec={spec.drain_timeout.strip()}",
        "Restart=always",
        "RestartSec=120",
    ]
    if spec.user:
        lines.append(f"User={spec.user}")
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def render_proxy_dropin(env_path: str) -> str:
    return "\n".join([
        "# Managed by runnerfleet.gitlab.runner_service: proxy settings live in a 0600 file",
        "# so that a proxy password never shows in the unit or in `systemctl show`.",
        "[Service]",
        f"EnvironmentFile={env_path}",
        "",
    ])


def env_quote(value: str) -> str:
    """A value for an EnvironmentFile: single quotes keep `$` and `\\` literal."""
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def proxy_environment(proxies: dict[str, str | None]) -> dict[str, str]:
    """HTTP_PROXY/HTTPS_PROXY/NO_PROXY and their lowercase forms for the values given."""
    env: dict[str, str] = {}
    for name in ("http_proxy", "https_proxy", "no_proxy"):
        value = proxies.get(name)
        if value:
            env[name.upper()] = value
            env[name] = value
    return env


def render_env_file(env: dict[str, str]) -> str:
    return "".join(f"{k}={env_quote(v)}\n" for k, v in env.items())


def proxy_passwords(value: str | None) -> list[str]:
    """The password of a proxy URL, as written and decoded (to keep both out of output)."""
    if not value or "://" not in value:
        return []
    try:
        password = urlsplit(value).password
    except ValueError:
        return []
    if not password:
        return []
    return sorted({password, unquote(password)})


def plan(spec: ServiceSpec, unit_dir: str, env_dir: str, env: dict[str, str],
         present: bool) -> list[PlannedFile]:
    """The unit, the proxy drop-in and the environment file with the content they must have."""
    unit = os.path.join(unit_dir, f"{spec.name}.service")
    dropin = os.path.join(unit_dir, f"{spec.name}.service.d", DROPIN_NAME)
    env_path = os.path.join(env_dir, f"{spec.name}-proxy.env")
    with_proxy = present and bool(env)
    return [
        PlannedFile(unit, render_unit(spec) if present else None, UNIT_MODE),
        PlannedFile(dropin, render_proxy_dropin(env_path) if with_proxy else None, UNIT_MODE),
        PlannedFile(env_path, render_env_file(env) if with_proxy else None, ENV_MODE,
                    secret=True),
    ]


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def differs(planned: PlannedFile) -> bool:
    """Whether the file on disk (content or mode) is not what is planned."""
    current = read_text(planned.path)
    if planned.content is None:
        return current is not None
    if current != planned.content:
        return True
    return (os.stat(planned.path).st_mode & 0o7777) != planned.mode


def write_atomic(path: str, content: str, mode: int) -> None:
    """Write via a temporary file in the same directory (mode set before any byte), then rename."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def apply(planned: PlannedFile) -> None:
    if planned.content is None:
        if os.path.exists(planned.path):
            os.unlink(planned.path)
        directory = os.path.dirname(planned.path)
        if directory.endswith(".service.d") and os.path.isdir(directory) \
                and not os.listdir(directory):
            os.rmdir(directory)
        return
    write_atomic(planned.path, planned.content, planned.mode)


def masked_env(text: str | None, secrets: list[str]) -> str:
    """An environment file's text for a diff: URL passwords as `***`."""
    if text is None:
        return ""
    masked = re.sub(r"(://[^/\s:@'\"]*:)[^@\s'\"]+@", r"\1***@", text)
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            masked = masked.replace(secret, "***")
    return masked


def file_diff(planned: PlannedFile, secrets: list[str]) -> dict[str, Any]:
    before = read_text(planned.path)
    after = planned.content
    if planned.secret:
        before, after = masked_env(before, secrets), masked_env(after, secrets)
    return {"before_header": planned.path, "after_header": planned.path,
            "before": before or "", "after": after or ""}
