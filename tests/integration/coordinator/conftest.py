"""Coordinator processes for these tests, started as `python -m runnerfleet.coordinator`.

The shared `coordinator` fixture runs `python -m runnerfleet coordinator`; here the same
`RunningCoordinator` is produced from the package's own entry point so these tests depend on
nothing outside `runnerfleet.coordinator` (one test covers the `runnerfleet` CLI route).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.coordinator import VIA_PACKAGE, RunningCoordinator, start_coordinator


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., RunningCoordinator]]:
    """Start coordinators with extra flags; all are stopped at the end of the test."""
    started: list[RunningCoordinator] = []

    def _start(*args: str, data_dir: Path | None = None,
               ca_file: str | None = None) -> RunningCoordinator:
        running = start_coordinator(data_dir or tmp_path / "coordinator", *args, ca_file=ca_file,
                                    entry=VIA_PACKAGE)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def coordinator(start: Callable[..., RunningCoordinator]) -> RunningCoordinator:
    """A fresh coordinator on plain HTTP (overrides the shared fixture for this directory).

    Long polling is off so that a `last_update` equal to the queue value is answered at once;
    the long-poll tests start their own coordinator with a hold time.
    """
    return start("--long-poll-timeout", "0")


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
