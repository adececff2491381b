"""Fixtures: a coordinator with a runner API (shared with the artifact tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.artifacts.helpers import Api


@pytest.fixture
def api(coordinator: RunningCoordinator) -> Iterator[Api]:
    client = Api(coordinator)
    try:
        yield client
    finally:
        client.close()
