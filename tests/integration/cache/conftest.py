"""Fixtures: a coordinator with a runner API (shared with the artifact tests)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.artifacts.helpers import Api
from tests.integration.cache.s3server import S3Server, start_s3_server


@pytest.fixture
def api(coordinator: RunningCoordinator) -> Iterator[Api]:
    client = Api(coordinator)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on loopback with the `runner-cache` bucket."""
    server = start_s3_server()
    try:
        yield server
    finally:
        server.stop()
