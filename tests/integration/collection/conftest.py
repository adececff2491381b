"""Run the collection's modules for real with the `ansible` and `ansible-playbook` commands.

The collection is found through ANSIBLE_COLLECTIONS_PATH (a symlink to this repository). Modules
run under the base Python, which does not have the engine, and import it from this test run's
venv through `engine_venv`, as they do on a host provisioned by the role.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.unit.plugins.collection import collections_root

BIN = Path(sys.executable).parent
ENGINE_VENV = sys.prefix
# The Python a host without the engine has: the one this venv was made from.
HOST_PYTHON = next(str(p) for p in (Path(sys.base_prefix) / "bin" / "python3",
                                     Path(sys.base_prefix) / "bin" / "python") if p.exists())


@dataclass
class Outcome:
    """What the command returned: exit code, the task result (ad-hoc) and everything printed."""

    rc: int
    result: dict[str, Any]
    output: str


class Ansible:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.lower().endswith("_proxy") and not k.startswith("ANSIBLE_")}
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(collections_root()),
            "ANSIBLE_HOME": str(workdir / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp"),
            "ANSIBLE_REMOTE_TMP": str(workdir / "remote-tmp"),
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
        })
        self._runs = 0

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.env, cwd=self.workdir, capture_output=True,
                              text=True, timeout=300)

    def adhoc(self, module: str, args: dict[str, Any], *flags: str) -> Outcome:
        """`ansible localhost -m runnerfleet.gitlab.<module> -a <json>`; the result as saved
        by the tree callback (what callbacks see, censored when no_log)."""
        self._runs += 1
        tree = self.workdir / f"tree-{self._runs}"
        done = self._run([
            str(BIN / "ansible"), "localhost", "-m", f"runnerfleet.gitlab.{module}",
            "-a", json.dumps(args), "-e", f"ansible_python_interpreter={HOST_PYTHON}",
            "--tree", str(tree), *flags,
        ])
        saved = tree / "localhost"
        result = json.loads(saved.read_text()) if saved.exists() else {}
        return Outcome(done.returncode, result, done.stdout + done.stderr)

    def playbook(self, text: str, *flags: str) -> Outcome:
        self._runs += 1
        book = self.workdir / f"play-{self._runs}.yml"
        book.write_text(text)
        done = self._run([
            str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", f"ansible_python_interpreter={HOST_PYTHON}", str(book), *flags,
        ])
        return Outcome(done.returncode, {}, done.stdout + done.stderr)


@pytest.fixture
def ansible(tmp_path: Path) -> Ansible:
    return Ansible(tmp_path / "ansible")
