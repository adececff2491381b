"""Run parts of the collection's roles with `ansible-playbook` on this machine, without molecule.

Only what needs no systemd host: the role's input checks, and its runner tasks (GitLab records
and config.toml) against the coordinator, with config.toml in a temporary directory. The engine
comes from this test run's venv, as on a host the role provisioned.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.collection.conftest import ENGINE_VENV, Ansible, Outcome


class RoleRunner:
    """Plays that apply role runnerfleet.gitlab.runner (or one of its task files) to localhost."""

    def __init__(self, ansible: Ansible) -> None:
        self.ansible = ansible

    def role(self, role_vars: dict[str, Any]) -> Outcome:
        play = [{"hosts": "localhost", "gather_facts": False,
                 "roles": [{"role": "runnerfleet.gitlab.runner", "vars": role_vars}]}]
        return self.ansible.playbook(json.dumps(play))

    def runners(self, role_vars: dict[str, Any], *flags: str) -> Outcome:
        """tasks/runners.yml: GitLab records and config.toml. The play ends before the handlers
        (they would reload a systemd service this machine does not have)."""
        engine = {"runner_engine_venv": ENGINE_VENV, "runner_controller_engine_venv": ENGINE_VENV,
                  "runner_controller_engine_python": sys.executable}
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "the runner tasks of the role", "ansible.builtin.include_role": {
                "name": "runnerfleet.gitlab.runner", "tasks_from": "runners.yml"},
             "vars": {**engine, **role_vars}},
            {"name": "no handlers", "ansible.builtin.meta": "end_play"},
        ]}]
        return self.ansible.playbook(json.dumps(play), *flags)

    def site(self, inventory: str, *flags: str) -> Outcome:
        """`ansible-playbook -i <inventory> runnerfleet.gitlab.site <flags>`."""
        path = self.ansible.workdir / "inventory.ini"
        path.write_text(inventory)
        done = self.ansible._run([str(Path(sys.executable).parent / "ansible-playbook"),
                                  "-i", str(path), "runnerfleet.gitlab.site", *flags])
        return Outcome(done.returncode, {}, done.stdout + done.stderr)


@pytest.fixture
def role(tmp_path: Path) -> RoleRunner:
    return RoleRunner(Ansible(tmp_path / "ansible"))
