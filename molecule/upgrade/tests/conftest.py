"""Fixtures of the upgrade scenario's verifier: the coordinator and side_effect.yml's report."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "shared"))

from coordinator_api import Coordinator


@pytest.fixture(scope="session")
def coordinator() -> Coordinator:
    return Coordinator()


@pytest.fixture(scope="session")
def report() -> dict[str, Any]:
    """{host: {stage: {service, token_fingerprint, runner_ids, concurrent}, job_<stage>: id}}."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "upgrade-report.json"
    return dict(json.loads(path.read_text()))
