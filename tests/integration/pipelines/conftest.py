"""A coordinator process, a project pushed to it and a `runnerfleet run-single` shell runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.coordinator import RunningCoordinator, start_coordinator
from tests.integration.waiting import waiter

# Bounds waits only; no test asserts how long anything took.
PATIENCE = 120.0
FINAL = ("success", "failed", "canceled", "skipped")


wait_until = waiter(PATIENCE, interval=0.1)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd,
                   check=True, capture_output=True)


class Fleet:
    """GitLab's REST API on the coordinator plus one shell runner taking its jobs."""

    def __init__(self, coordinator: RunningCoordinator, tmp_path: Path) -> None:
        self.coordinator = coordinator
        self.tmp_path = tmp_path
        self.api = httpx.Client(base_url=coordinator.url, trust_env=False, timeout=30,
                                headers={"PRIVATE-TOKEN": coordinator.admin_token})
        self.runner: subprocess.Popen[str] | None = None
        self.project_id = 0

    def push(self, files: dict[str, str], path: str = "demo/app") -> int:
        created = self.api.post("/-/projects", json={"path": path})
        assert created.status_code == 201, created.text
        src = self.tmp_path / "src"
        src.mkdir()
        for name, text in files.items():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_text(text)
        _git(src, "init", "-q", "-b", "main")
        _git(src, "add", ".")
        _git(src, "commit", "-q", "-m", "init")
        _git(src, "push", "-q", created.json()["repo_dir"], "main")
        self.project_id = int(created.json()["id"])
        return self.project_id

    def create(self, ref: str = "main", **body: Any) -> httpx.Response:
        return self.api.post(f"/api/v4/projects/{self.project_id}/pipeline",
                             json={"ref": ref, **body})

    def start_runner(self) -> None:
        token = self.api.post("/api/v4/user/runners",
                              json={"runner_type": "instance_type"}).json()["token"]
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["HOME"] = str(self.tmp_path)
        work = self.tmp_path / "work"
        work.mkdir()
        self.runner = subprocess.Popen(
            [sys.executable, "-m", "runnerfleet", "run-single", "-d", str(work), "-u",
             self.coordinator.url, "-t", token, "--executor", "shell",
             "-c", str(self.tmp_path / "config.toml")],
            env=env, cwd=self.tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True)

    def restart_coordinator(self) -> None:
        """Stop the coordinator process and start a new one on the same state directory."""
        self.coordinator.stop()
        self.api.close()
        self.coordinator = start_coordinator(self.coordinator.data_dir)
        self.api = httpx.Client(base_url=self.coordinator.url, trust_env=False, timeout=30,
                                headers={"PRIVATE-TOKEN": self.coordinator.admin_token})

    def post(self, path: str) -> httpx.Response:
        """POST to a path under this project's API URL."""
        return self.api.post(f"/api/v4/projects/{self.project_id}/{path}")

    def pipeline(self, pid: int) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.get(
            f"/api/v4/projects/{self.project_id}/pipelines/{pid}").json()
        return answer

    def jobs(self, pid: int) -> dict[str, dict[str, Any]]:
        answer = self.api.get(f"/api/v4/projects/{self.project_id}/pipelines/{pid}/jobs").json()
        return {j["name"]: j for j in answer}

    def finished(self, pid: int) -> dict[str, Any]:
        return dict(wait_until(f"pipeline {pid} to finish",
                               lambda: (p := self.pipeline(pid))["status"] in FINAL and p))

    def trace(self, job_id: int) -> str:
        return self.api.get(f"/api/v4/projects/{self.project_id}/jobs/{job_id}/trace").text

    def close(self) -> None:
        if self.runner is not None:
            self.runner.terminate()
            try:
                self.runner.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.runner.kill()
                self.runner.wait()
        self.api.close()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    coordinator = start_coordinator(tmp_path / "coordinator")
    f = Fleet(coordinator, tmp_path)
    try:
        yield f
    finally:
        f.close()
        f.coordinator.stop()
