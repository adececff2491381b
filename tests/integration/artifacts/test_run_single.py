"""Through the real runner process: `runnerfleet run-single` runs a producer and a consumer job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.integration.artifacts.helpers import Api


def test_run_single_passes_artifacts_and_cache_between_two_jobs(api: Api, tmp_path: Path) -> None:
    empty = [{"key": "GIT_STRATEGY", "value": "empty"}]
    producer = api.enqueue(name="build", variables=empty, script=[
        "mkdir -p dist vendor", "echo built > dist/out.txt", "echo cached > vendor/lib.txt"],
        artifacts=[{"paths": ["dist/"]}], cache=[{"key": "deps", "paths": ["vendor/"]}])
    consumer = api.enqueue(name="test", variables=empty, dependencies=[producer], script=[
        "cat dist/out.txt", "cat vendor/lib.txt"], cache=[{"key": "deps", "paths": ["vendor/"],
                                                          "policy": "pull"}])
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["HOME"] = str(tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "runnerfleet", "run-single", "-d", str(workdir), "-u", api.url,
         "-t", api.runner_token, "--executor", "shell", "--max-builds", "2",
         "-c", str(tmp_path / "config.toml")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    first = api.admin.get(f"/-/jobs/{producer}").json()
    second = api.admin.get(f"/-/jobs/{consumer}").json()
    assert first["status"] == "success", first["trace"]
    assert second["status"] == "success", second["trace"]
    assert "Uploading artifacts for successful job" in first["trace"]
    assert "Created cache" in first["trace"]
    assert f"Downloading artifacts for build ({producer})..." in second["trace"]
    assert "Successfully extracted cache" in second["trace"]
    # Job output lines (after the log's timestamp prefix) printed by `cat`.
    printed = [line.rstrip("\r").rsplit(" ", 1)[-1] for line in second["trace"].splitlines()]
    assert "built" in printed and "cached" in printed
