"""The CLI against the coordinator on HTTPS with a CA made at test time: flag, certs dir, failure."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import tomlkit

from tests.fixtures.coordinator import RunningCoordinator
from tests.fixtures.tls import TestPKI
from tests.integration.cli.conftest import CliRunner


def _register(runnerfleet: CliRunner, coordinator: RunningCoordinator, config: Path,
              *extra: str) -> tuple[int, str]:
    created = coordinator.create_runner()
    result = runnerfleet("register", "-n", "-c", str(config), "-u", coordinator.url,
                         "-t", created["token"], "--executor", "shell", *extra)
    return result.code, result.output


def test_register_and_verify_with_tls_ca_file_flag(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI, runnerfleet: CliRunner,
    config_path: Path
) -> None:
    code, output = _register(runnerfleet, tls_coordinator, config_path,
                             "--tls-ca-file", str(test_pki.ca_file))
    assert code == 0, output
    runner = tomlkit.parse(config_path.read_text())["runners"][0]
    assert runner["tls-ca-file"] == str(test_pki.ca_file)
    verify = runnerfleet("verify", "-c", str(config_path))
    assert verify.code == 0 and "is valid" in verify.stderr, verify.output


def test_register_with_ca_in_certs_dir_named_after_the_host(
    tls_coordinator: RunningCoordinator, test_pki: TestPKI, runnerfleet: CliRunner,
    config_path: Path
) -> None:
    host = urlsplit(tls_coordinator.url).hostname
    certs = config_path.parent / "certs"
    certs.mkdir(parents=True)
    shutil.copy(test_pki.ca_file, certs / f"{host}.crt")
    code, output = _register(runnerfleet, tls_coordinator, config_path)
    assert code == 0, output
    assert "tls-ca-file" not in config_path.read_text()


def test_register_without_ca_fails_with_host_files_tried_and_fix(
    tls_coordinator: RunningCoordinator, runnerfleet: CliRunner, config_path: Path
) -> None:
    host = urlsplit(tls_coordinator.url).hostname
    code, output = _register(runnerfleet, tls_coordinator, config_path)
    assert code == 1
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, output
    line = errors[0]
    assert str(host) in line
    assert str(config_path.parent / "certs" / f"{host}.crt") in line
    assert "tls-ca-file" in line
    assert not config_path.exists()
