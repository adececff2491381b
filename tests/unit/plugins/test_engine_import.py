"""module_utils.engine: the engine comes from the host's venv, or a missing one is one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.unit.plugins.collection import collections_root

# The test's own venv has the engine installed (editable); `python -S` ignores site-packages,
# which is how a host's system Python without the engine sees the world.
ENGINE_VENV = sys.prefix
PROBE = """
import sys
from ansible_collections.runnerfleet.gitlab.plugins.module_utils.engine import (
    EngineMissing, import_engine)
try:
    import_engine(sys.argv[1])
except EngineMissing as error:
    print("MISSING", error)
else:
    import runnerfleet
    print("IMPORTED", runnerfleet.__file__)
"""


def probe(venv: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(collections_root())}
    done = subprocess.run([sys.executable, "-S", "-c", PROBE, venv], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_without_site_packages_the_engine_is_not_importable() -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "-S", "-c", "import runnerfleet"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_the_engine_is_imported_from_the_engine_venv() -> None:
    out = probe(ENGINE_VENV)
    assert out.startswith("IMPORTED ")
    assert Path(out.split(" ", 1)[1]).name == "__init__.py"


def test_a_missing_venv_is_one_line_naming_the_path_and_the_role(tmp_path: Path) -> None:
    venv = tmp_path / "nowhere"
    out = probe(str(venv))
    assert out.startswith(f"MISSING cannot import the runnerfleet engine: engine_venv {venv} "
                          "does not exist")
    assert "install the engine with role runnerfleet.gitlab.runner first" in out
    assert "\n" not in out


def test_a_venv_without_site_packages_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    out = probe(str(tmp_path))
    assert f"engine_venv {tmp_path} has no lib/python3.*/site-packages" in out
