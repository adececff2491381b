"""What every config-using command shares: the config file, the system id, GitLab clients."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from runnerfleet.cli.flags import Flag
from runnerfleet.config import (
    ConfigFile,
    RunnerConfig,
    load_system_id,
    resolve_config_path,
)
from runnerfleet.gitlab import GitLabClient
from runnerfleet.gitlab.factory import client_for_runner as factory_client_for_runner
from runnerfleet.gitlab.factory import client_for_url
from runnerfleet.log import fields

log = logging.getLogger("runnerfleet.cli")

CONFIG_FLAG = Flag("config", "Config file", short="c", env="CONFIG_FILE", metavar="FILE")


def load_config(
    config_flag: str | None, env: Mapping[str, str] | None = None, *, creating: bool = False
) -> ConfigFile:
    """Load config.toml from -c/CONFIG_FILE/the default path; print its warnings once.

    A missing file is an empty config, as for gitlab-runner; commands that only read runners say
    so, since a mistyped -c path is the usual reason.
    """
    path = resolve_config_path(config_flag, env)
    if os.geteuid() != 0:
        log.warning("Running in user-mode.")
    config = ConfigFile.load(path)
    if not config.exists and not creating:
        log.warning("%s does not exist: no runners are configured (register one, or pass the "
                    "right file with -c/--config)", path)
    for warning in config.warnings:
        log.warning(warning)
    return config


def system_id(config: ConfigFile) -> str:
    """This host's runner-manager identity, kept next to config.toml as gitlab-runner does.

    The directory is created first (0700, as a save would) so that the id GitLab records for this
    host is the one stored on disk, even for a random `r_` id on a machine without a machine-id.
    """
    # An unwritable config dir surfaces as a clear error when the config is saved.
    with contextlib.suppress(OSError):
        config.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return load_system_id(config.path.parent)


def client_for(
    config: ConfigFile,
    url: str,
    *,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_key_file: str | None = None,
) -> GitLabClient:
    """One API client for a GitLab URL, with the TLS files the runner entry or flags name."""
    return client_for_url(config.path, url, tls_ca_file=tls_ca_file, tls_cert_file=tls_cert_file,
                          tls_key_file=tls_key_file)


def client_for_runner(config: ConfigFile, runner: RunnerConfig) -> GitLabClient:
    return factory_client_for_runner(config.path, runner)


def is_authentication_token(token: str) -> bool:
    """Runners created in GitLab (glrt- tokens) are managed per host through runner managers."""
    return token.startswith("glrt-")


def runner_fields(runner: RunnerConfig) -> dict[str, object]:
    return fields(runner=runner.short_token, name=runner.name)


def saved(config: ConfigFile) -> None:
    config.save()
    log.info("Updated %s", config.path, extra=fields())


def config_path_for_message(path: Path) -> str:
    return str(path)
