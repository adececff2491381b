"""Run the real `runnerfleet` CLI as a subprocess against a real coordinator."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no proxies, no runner env vars leaking in from the caller."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "SSL_CERT_FILE", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.fixture
def runnerfleet(cli_env: dict[str, str], tmp_path: Path) -> CliRunner:
    def run(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "runnerfleet", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**cli_env, **(env or {})},
            cwd=tmp_path,
            timeout=120,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "etc" / "config.toml"
