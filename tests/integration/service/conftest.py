"""Real `runnerfleet run` / `run-single` processes against a real coordinator, for the service tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from runnerfleet.service.journal import read_record
from tests.fixtures.coordinator import RunningCoordinator, start_coordinator
from tests.integration.waiting import waiter

# The longest a test waits for something that should happen soon. It bounds the wait only; no
# test asserts how long anything took.
PATIENCE = 60.0
# Jobs here need no repository: the sandbox project's repository is empty.
NO_GIT = [{"key": "GIT_STRATEGY", "value": "none"}]


wait_until = waiter(PATIENCE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Admin:
    """The coordinator's admin/test endpoints."""

    def __init__(self, coordinator: RunningCoordinator) -> None:
        self.url = coordinator.url
        self.http = httpx.Client(base_url=coordinator.url, trust_env=False, timeout=30,
                                 headers={"PRIVATE-TOKEN": coordinator.admin_token})

    def enqueue(self, *script: str, variables: list[dict[str, Any]] | None = None,
                **body: Any) -> int:
        payload = {"script": list(script) or ["echo hello"], "variables": [*NO_GIT,
                                                                            *(variables or [])],
                   **body}
        r = self.http.post("/-/jobs", json=payload)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        r = self.http.get(f"/-/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def finished(self, job_id: int, patience: float = PATIENCE) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] in ("success", "failed", "canceled") else None

        result: dict[str, Any] = wait_until(f"job {job_id} to finish", done, patience)
        return result

    def running_with(self, job_id: int, text: str) -> dict[str, Any]:
        """Wait until the job runs and its log in the coordinator contains `text`."""
        def seen() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] == "running" and text in job["trace"] else None

        result: dict[str, Any] = wait_until(f"job {job_id} to log {text!r}", seen)
        return result

    def fault(self, path: str, *, method: str, count: int = 1, **spec: Any) -> None:
        body = {"method": method, "path": "/api/v4/" + path, "count": count, **spec}
        r = self.http.post("/-/faults", json=body)
        assert r.status_code == 201, r.text

    def clear_faults(self) -> None:
        assert self.http.delete("/-/faults").status_code == 204

    def requests(self, method: str, path: str) -> list[dict[str, Any]]:
        r = self.http.get("/-/requests")
        return [e for e in r.json() if e["method"] == method and e["path"] == "/api/v4/" + path]

    def create_runner(self, **params: Any) -> str:
        return str(self.create_runner_full(**params)["token"])

    def create_runner_full(self, **params: Any) -> dict[str, Any]:
        """GitLab's whole answer: id, token, token_expires_at."""
        body = {"runner_type": "instance_type", "run_untagged": True, **params}
        r = self.http.post("/api/v4/user/runners", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def settings(self, **values: Any) -> None:
        r = self.http.put("/-/settings", json=values)
        assert r.status_code == 200, r.text

    def cancel(self, job_id: int) -> None:
        r = self.http.post(f"/-/jobs/{job_id}/cancel")
        assert r.status_code == 200, r.text


class Process:
    """A runnerfleet process whose merged output is collected line by line."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.args = args
        self.proc = subprocess.Popen([sys.executable, "-m", "runnerfleet", *args], cwd=cwd,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_line(self, pattern: str, *, count: int = 1, patience: float = PATIENCE) -> str:
        """Wait for the `count`-th output line matching the regex `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + patience
        with self._cond:
            while True:
                found = [line for line in self.lines if regex.search(line)]
                if len(found) >= count:
                    return found[count - 1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    pytest.fail(f"no output line matching {pattern!r} (x{count}); output:\n"
                                + "\n".join(self.lines))
                self._cond.wait(min(remaining, 0.5))

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, patience: float = PATIENCE) -> int:
        try:
            code = self.proc.wait(patience)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"runnerfleet {self.args[0]} did not exit; output:\n{self.output}")
        self._reader.join(10)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class World:
    """A coordinator, an admin client, a config directory and the runner processes of one test."""

    def __init__(self, tmp_path: Path, coordinator: RunningCoordinator) -> None:
        self.tmp = tmp_path
        self.coordinator = coordinator
        self.admin = Admin(coordinator)
        self.config = tmp_path / "etc" / "config.toml"
        self.config.parent.mkdir(mode=0o700)
        self.workdir = tmp_path / "work"
        self.workdir.mkdir()
        self.processes: list[Process] = []
        keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env["HOME"] = str(tmp_path / "home")

    def write_config(self, *runners: dict[str, Any], **globals_: Any) -> None:
        """config.toml with these global keys and [[runners]] entries (url/executor filled in)."""
        lines = [f"{key} = {toml_value(value)}" for key, value in
                 {"concurrent": 1, "check_interval": 1, **globals_}.items()]
        for runner in runners:
            entry = {"name": "runner", "url": self.coordinator.url, "executor": "shell", **runner}
            lines += ["", "[[runners]]"]
            tables = {k: v for k, v in entry.items() if isinstance(v, dict)}
            lines += [f"  {key} = {toml_value(value)}" for key, value in entry.items()
                      if key not in tables]
            for name, table in tables.items():
                lines.append(f"  [runners.{name}]")
                lines += [f"    {key} = {toml_value(value)}" for key, value in table.items()]
        text = "\n".join(lines) + "\n"
        tmp = self.config.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config)

    def run(self, *extra: str) -> Process:
        process = Process(["run", "-c", str(self.config), "-d", str(self.workdir), *extra],
                          self.tmp, self.env)
        self.processes.append(process)
        return process

    def run_single(self, *args: str) -> Process:
        process = Process(["run-single", "-d", str(self.workdir), *args], self.tmp, self.env)
        self.processes.append(process)
        return process

    def wait_log(self, text: str) -> None:
        """Wait until a running job wrote `text` into its log (the runner's file in the journal).

        The log reaches that file in batches, at the latest at each trace update (every 3 s
        here), and the file goes when the job ends: a job must keep running a few seconds after
        printing `text`."""
        root = self.config.parent / ".runnerfleet" / "jobs"
        wait_until(f"a job to log {text!r}", lambda: any(
            text.encode() in p.read_bytes() for p in root.glob("*/runnerfleet-trace-*")))

    @property
    def journal_records(self) -> list[int]:
        """Job ids of the records in the runners' journals (an idle worker slot holds none)."""
        root = self.config.parent / ".runnerfleet" / "jobs"
        files = sorted(root.glob("*/*.json")) if root.exists() else []
        return sorted(r.job_id for r in map(read_record, files) if r is not None)

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        self.admin.http.close()
        _kill_processes_in(self.workdir)


def _kill_processes_in(directory: Path) -> None:
    """Job scripts left behind by a runner that was killed on purpose (they run in their own
    session, so they outlive it): end those whose working directory is inside the test's."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if cwd == str(directory) or cwd.startswith(str(directory) + os.sep):
            with contextlib.suppress(OSError):
                os.kill(int(proc.name), signal.SIGKILL)


def toml_value(value: Any) -> str:
    """A TOML value as config.toml writes it (strings quoted, datetimes as UTC)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A coordinator holding job requests for 2 s (long polling) and the rest of the test world."""
    coordinator = start_coordinator(tmp_path / "coordinator", "--long-poll-timeout", "2")
    w = World(tmp_path, coordinator)
    try:
        yield w
    finally:
        w.close()
        # A test may have replaced the coordinator (restart): stop whichever runs now, too.
        for running in {id(c): c for c in (coordinator, w.coordinator)}.values():
            running.stop()
