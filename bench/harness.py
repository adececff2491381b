"""Benchmark harness: a real coordinator and real `runnerfleet run` processes on loopback.

Timestamps come from one clock (this machine's wall clock): the coordinator's job rows (REAL
seconds in its SQLite state, read-only) and its request log (`GET /-/requests`, millisecond
resolution, stamped after the request was handled, i.e. when the answer was ready).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
NO_GIT = [{"key": "GIT_STRATEGY", "value": "none"}]
FINAL = ("success", "failed", "canceled")


def rss_kib(pid: int) -> int:
    """Resident set size of one process (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def log_time(entry: dict[str, Any]) -> float:
    """Epoch seconds of a request-log entry (`2026-01-01T10:00:00.123Z`)."""
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00")).timestamp()


class Coordinator:
    """`runnerfleet coordinator` in a temporary data directory."""

    def __init__(self, tmp: Path, *extra: str) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        self.data_dir = tmp / "coordinator"
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "runnerfleet", "coordinator", "--listen", "127.0.0.1:0",
             "--data-dir", str(self.data_dir), *extra],
            cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        found: dict[str, str] = {}
        for line in self.proc.stdout:
            for key, rx in (("url", r"listening on (\S+)"), ("admin", r"PRIVATE-TOKEN\): (\S+)"),
                            ("state", r"^state: (\S+)")):
                m = re.search(rx, line)
                if m:
                    found[key] = m.group(1)
            if "state" in found:
                break
        if "url" not in found:
            raise RuntimeError("coordinator did not start")
        # Keep draining its output so it never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = found["url"]
        self.state_path = found["state"]
        self.http = httpx.Client(base_url=self.url, trust_env=False, timeout=60,
                                 headers={"PRIVATE-TOKEN": found["admin"]})
        self._db: sqlite3.Connection | None = None

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            pass

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.state_path}?mode=ro", uri=True,
                                       check_same_thread=False)
        return self._db

    def create_runner(self) -> str:
        r = self.http.post("/api/v4/user/runners",
                           json={"runner_type": "instance_type", "run_untagged": True})
        r.raise_for_status()
        return str(r.json()["token"])

    def enqueue(self, script: list[str]) -> int:
        r = self.http.post("/-/jobs", json={"script": script, "variables": NO_GIT})
        if r.status_code != 201:
            raise RuntimeError(f"enqueue failed: {r.status_code} {r.text}")
        return int(r.json()["id"])

    def row(self, job_id: int) -> dict[str, Any]:
        cur = self.db.execute(
            "SELECT status, created_at, started_at, finished_at, output_bytesize, failure_reason"
            " FROM jobs WHERE id = ?", (job_id,))
        names = [d[0] for d in cur.description]
        values = cur.fetchone()
        return dict(zip(names, values, strict=True)) if values else {}

    def wait_final(self, job_id: int, patience: float = 600.0, poll: float = 0.005
                   ) -> dict[str, Any]:
        deadline = time.monotonic() + patience
        while True:
            row = self.row(job_id)
            if row.get("status") in FINAL:
                return row
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} did not finish: {row}")
            time.sleep(poll)

    def requests(self) -> list[dict[str, Any]]:
        return list(self.http.get("/-/requests").json())

    def put_times(self, job_id: int) -> dict[str, float]:
        """First accepted PUT time per state sent for this job (from the request log)."""
        times: dict[str, float] = {}
        for e in self.requests():
            if e["method"] == "PUT" and e["path"] == f"/api/v4/jobs/{job_id}" \
                    and e["status"] == 200 and isinstance(e.get("json"), dict):
                times.setdefault(str(e["json"].get("state")), log_time(e))
        return times

    def close(self) -> None:
        self.http.close()
        if self._db is not None:
            self._db.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Runner:
    """A `runnerfleet run` process with its own config and work directory."""

    proc: subprocess.Popen[bytes]
    config: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # abort: jobs (none, here) are reported
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_runner(tmp: Path, coordinator: Coordinator, tokens: list[str], *,
                 concurrent: int = 1, check_interval: int = 3,
                 runner_keys: dict[str, Any] | None = None) -> Runner:
    tmp.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="runner-", dir=tmp))
    config = home / "etc" / "config.toml"
    config.parent.mkdir(mode=0o700)
    lines = [f"concurrent = {concurrent}", f"check_interval = {check_interval}"]
    for i, token in enumerate(tokens):
        lines += ["", "[[runners]]", f'  name = "bench-{i}"', f'  url = "{coordinator.url}"',
                  f'  token = "{token}"', '  executor = "shell"']
        for key, value in (runner_keys or {}).items():
            lines.append(f"  {key} = {value}")
    config.write_text("\n".join(lines) + "\n")
    work = home / "work"
    work.mkdir()
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["HOME"] = str(home)
    proc = subprocess.Popen([PYTHON, "-m", "runnerfleet", "run", "-c", str(config),
                             "-d", str(work)], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=(home / "runner.log").open("wb"))
    return Runner(proc, config)


def wait_polling(coordinator: Coordinator, count: int = 1, patience: float = 60.0) -> None:
    """Until the coordinator has answered `count` job requests (runners are up and polling)."""
    deadline = time.monotonic() + patience
    while sum(1 for e in coordinator.requests() if e["path"] == "/api/v4/jobs/request") < count:
        if time.monotonic() > deadline:
            raise RuntimeError("runner never asked for a job")
        time.sleep(0.05)
