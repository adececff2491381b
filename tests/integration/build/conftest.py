"""Fixtures for pipeline tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.build.helpers import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)
