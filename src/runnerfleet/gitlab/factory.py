"""API clients for configured runners: the runner's URL with its TLS files and the certs dir."""

from __future__ import annotations

from pathlib import Path

from runnerfleet.config import RunnerConfig, certs_dir
from runnerfleet.gitlab.client import GitLabClient
from runnerfleet.gitlab.models import TLSSettings


def client_for_url(
    config_path: Path,
    url: str,
    *,
    tls_ca_file: str | None = None,
    tls_cert_file: str | None = None,
    tls_key_file: str | None = None,
) -> GitLabClient:
    """A client for `url` that trusts `<config dir>/certs/<host>.crt` and the given TLS files."""
    tls = TLSSettings(
        ca_file=tls_ca_file or None,
        cert_file=tls_cert_file or None,
        key_file=tls_key_file or None,
        certs_dir=certs_dir(config_path),
    )
    return GitLabClient(url, tls=tls)


def client_for_runner(config_path: Path, runner: RunnerConfig) -> GitLabClient:
    """The client a `[[runners]]` entry of the config at `config_path` talks to GitLab with."""
    return client_for_url(
        config_path,
        runner.url,
        tls_ca_file=runner.tls_ca_file,
        tls_cert_file=runner.tls_cert_file,
        tls_key_file=runner.tls_key_file,
    )
