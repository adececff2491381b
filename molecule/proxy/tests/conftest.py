"""Fixtures of the proxy scenario's verifier: the coordinator and the squid container."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import testinfra
from testinfra.host import Host

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from coordinator_api import Coordinator


@pytest.fixture(scope="session")
def coordinator() -> Coordinator:
    return Coordinator()


@pytest.fixture(scope="session")
def squid() -> Host:
    return testinfra.get_host("docker://rf-mol-proxy-squid")
