"""Fixtures of the default scenario's verifier: the coordinator the hosts are registered with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from coordinator_api import Coordinator


@pytest.fixture(scope="session")
def coordinator() -> Coordinator:
    return Coordinator()
