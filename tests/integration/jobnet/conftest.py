"""A coordinator with the job side for the job-call and trace-streamer tests, and its admin API."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from runnerfleet.gitlab import GitLabClient, runner_info
from tests.fixtures.coordinator import RunningCoordinator, start_coordinator

# How long a test waits for something that should happen in a moment (not a timing assert:
# only the upper bound after which the test gives up).
PATIENCE = 60.0


class Admin:
    """The coordinator's admin/test endpoints (`/-/jobs`, `/-/faults`, `/-/requests`)."""

    def __init__(self, coordinator: RunningCoordinator) -> None:
        self.coordinator = coordinator
        self.http = httpx.Client(
            base_url=coordinator.url, headers={"PRIVATE-TOKEN": coordinator.admin_token},
            trust_env=False, timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    def enqueue(self, **body: Any) -> dict[str, Any]:
        body.setdefault("script", ["echo hello"])
        r = self.http.post("/-/jobs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def job(self, job_id: int) -> dict[str, Any]:
        r = self.http.get(f"/-/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def cancel(self, job_id: int) -> None:
        r = self.http.post(f"/-/jobs/{job_id}/cancel")
        assert r.status_code == 200, r.text

    def fault(self, path: str, *, method: str = "PATCH", count: int = 1, **spec: Any) -> None:
        """Inject `count` faults on `path` (relative to /api/v4/)."""
        body = {"method": method, "path": "/api/v4/" + path.lstrip("/"), "count": count, **spec}
        if body.get("kind", "status") == "status":
            body.setdefault("status", 500)
        r = self.http.post("/-/faults", json=body)
        assert r.status_code == 201, r.text

    def requests(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        r = self.http.get("/-/requests")
        assert r.status_code == 200, r.text
        entries = [dict(e) for e in r.json()]
        if method is not None:
            entries = [e for e in entries if e["method"] == method]
        if path is not None:
            entries = [e for e in entries if e["path"] == "/api/v4/" + path.lstrip("/")]
        return entries


@dataclass
class Setup:
    """One coordinator, one registered runner, an API client and the admin helper."""

    coordinator: RunningCoordinator
    admin: Admin
    client: GitLabClient
    runner_token: str
    runner_id: int
    system_id: str = "s_0123456789ab"
    info: dict[str, Any] = field(default_factory=lambda: runner_info(executor="shell", shell="bash"))


def _make_setup(coordinator: RunningCoordinator, **info_features: bool) -> Setup:
    admin = Admin(coordinator)
    runner = coordinator.create_runner(run_untagged=True, description="jobnet")
    features = {"cancel_gracefully": True, "trace_checksum": True, "trace_size": True,
                "trace_reset": True, **info_features}
    return Setup(
        coordinator=coordinator,
        admin=admin,
        client=GitLabClient(coordinator.url),
        runner_token=runner["token"],
        runner_id=int(runner["id"]),
        info=runner_info(executor="shell", shell="bash", features=features),
    )


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., RunningCoordinator]]:
    """Start coordinators with extra flags; all are stopped at the end of the test."""
    started: list[RunningCoordinator] = []

    def _start(*args: str) -> RunningCoordinator:
        running = start_coordinator(tmp_path / f"coordinator{len(started)}", *args)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def setup(start: Callable[..., RunningCoordinator]) -> Iterator[Setup]:
    """A coordinator without long polling, a runner advertising cancel_gracefully."""
    s = _make_setup(start("--long-poll-timeout", "0"))
    yield s
    s.client.close()
    s.admin.close()


@pytest.fixture
def make_setup(start: Callable[..., RunningCoordinator]) -> Iterator[Callable[..., Setup]]:
    """Build a Setup on a coordinator started with the given flags and runner features."""
    made: list[Setup] = []

    def _make(*args: str, **features: bool) -> Setup:
        s = _make_setup(start(*args), **features)
        made.append(s)
        return s

    yield _make
    for s in made:
        s.client.close()
        s.admin.close()


def wait_for(predicate: Callable[[], bool], what: str, patience: float = PATIENCE) -> None:
    """Poll until `predicate()` holds; fail naming `what` after `patience` seconds."""
    deadline = time.monotonic() + patience
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


class Pauses:
    """The streamer's injected sleep: records each requested pause, really waits only briefly."""

    def __init__(self, real: float = 0.005) -> None:
        self.real = real
        self.requested: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.requested.append(seconds)
        time.sleep(self.real)


class ManualClock:
    """An injected monotonic clock the test moves forward."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


_TOKEN_PREFIXES = ("glrt-", "glcbt-", "glpat-")


@pytest.fixture(autouse=True)
def no_tokens_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every runnerfleet log line of a test, fields included, shows tokens only shortened."""
    caplog.set_level(logging.DEBUG, logger="runnerfleet")
    root = logging.getLogger("runnerfleet")
    propagate = root.propagate
    root.propagate = True  # `runnerfleet.log.setup()` in another test may have turned it off
    try:
        yield
    finally:
        root.propagate = propagate
    for record in caplog.records:
        if not record.name.startswith("runnerfleet"):
            continue
        text = record.getMessage() + " " + repr(getattr(record, "fields", {}))
        leaked = [p for p in _TOKEN_PREFIXES if p in text]
        assert not leaked, f"a token appears in the log line {text!r}"
