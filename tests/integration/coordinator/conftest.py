"""Coordinator processes for these tests, started as `python -m runnerfleet.coordinator`.

The shared `coordinator` fixture runs `python -m runnerfleet coordinator`; here the same
`RunningCoordinator` is produced from the package's own entry point so these tests depend on
nothing outside `runnerfleet.coordinator` (one test covers the `runnerfleet` CLI route).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import RunningCoordinator

_LINES = {
    "url": re.compile(r"^runnerfleet coordinator listening on (\S+)$"),
    "admin": re.compile(r"^admin token \(PRIVATE-TOKEN\): (\S+)$"),
    "reg": re.compile(r"^registration token: (\S+)$"),
    "state": re.compile(r"^state: (.+)$"),
}


def start_local(data_dir: Path, *args: str, ca_file: str | None = None) -> RunningCoordinator:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runnerfleet.coordinator", "--listen", "127.0.0.1:0",
         "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    found: dict[str, str] = {}
    timer = threading.Timer(30, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            for name, pattern in _LINES.items():
                m = pattern.match(line.rstrip("\n"))
                if m:
                    found[name] = m.group(1)
            if len(found) == len(_LINES):
                break
    finally:
        timer.cancel()
    if len(found) != len(_LINES):
        proc.kill()
        raise RuntimeError("coordinator did not start:\n" + "\n".join(lines))
    running = RunningCoordinator(
        url=found["url"],
        admin_token=found["admin"],
        registration_token=found["reg"],
        data_dir=data_dir,
        process=proc,
        output=lines,
        ca_file=ca_file,
    )
    threading.Thread(target=lambda: [lines.append(x.rstrip("\n")) for x in proc.stdout or []],
                     daemon=True).start()
    return running


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., RunningCoordinator]]:
    """Start coordinators with extra flags; all are stopped at the end of the test."""
    started: list[RunningCoordinator] = []

    def _start(*args: str, data_dir: Path | None = None,
               ca_file: str | None = None) -> RunningCoordinator:
        running = start_local(data_dir or tmp_path / "coordinator", *args, ca_file=ca_file)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def coordinator(start: Callable[..., RunningCoordinator]) -> RunningCoordinator:
    """A fresh coordinator on plain HTTP (overrides the shared fixture for this directory)."""
    return start()


@pytest.fixture
def api(coordinator: RunningCoordinator) -> Iterator[httpx.Client]:
    """An unauthenticated client on the coordinator's base URL."""
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False, timeout=10) as c:
        yield c


@pytest.fixture
def admin(coordinator: RunningCoordinator) -> Iterator[httpx.Client]:
    """A client sending the admin PAT."""
    with httpx.Client(base_url=coordinator.url + "/api/v4", trust_env=False, timeout=10,
                      headers={"PRIVATE-TOKEN": coordinator.admin_token}) as c:
        yield c
