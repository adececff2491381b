"""`[runners.ssh]` resolved for one connection: defaults applied, values checked, errors name the key."""

from __future__ import annotations

import os
from dataclasses import dataclass

from runnerfleet.config import SshConfig
from runnerfleet.executors.errors import BuildError, FailureReason

DEFAULT_PORT = 22


def config_error(message: str) -> BuildError:
    return BuildError(message, failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR)


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to log in, and how to check the server's host key.

    `known_hosts_file` is the file used when `strict` (the default): `~/.ssh/known_hosts` of the
    user running runnerfleet unless `known_hosts_file` is configured. `password` is always offered
    (even empty), `identity_file` only when set: keys are never read implicitly from `~/.ssh`.
    """

    host: str
    port: int
    user: str
    password: str = ""
    identity_file: str = ""
    known_hosts_file: str = ""
    strict: bool = True

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_port(value: str, key: str) -> int:
    """A TCP port from its config string; BuildError naming `key` when it is not one."""
    text = value.strip()
    if not text:
        return DEFAULT_PORT
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    raise config_error(f'{key}: "{value}" is not a port number (1-65535)')


def ssh_target(
    config: SshConfig | None,
    *,
    section: str = "runners.ssh",
    host: str | None = None,
    port: int | None = None,
) -> SshTarget:
    """The target described by `[runners.ssh]`; `host`/`port` override it (VM executors)."""
    if config is None:
        raise config_error(f"missing SSH configuration: add a [{section}] table with host, user and "
                           "password or identity_file")
    resolved_port = port if port is not None else parse_port(config.port, f"{section}.port")
    known_hosts = config.known_hosts_file or os.path.join(os.path.expanduser("~"), ".ssh", "known_hosts")
    return SshTarget(
        host=host if host is not None else config.effective_host,
        port=resolved_port,
        user=config.effective_user,
        password=config.password,
        identity_file=config.identity_file,
        known_hosts_file=known_hosts,
        strict=config.strict_host_key_checking,
    )
