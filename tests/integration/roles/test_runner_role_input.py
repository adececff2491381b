"""Role runnerfleet.gitlab.runner refuses unusable runner definitions before it changes anything,
with one message naming the runner and what to set."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.roles.conftest import RoleRunner

GITLAB = {"runner_gitlab_url": "http://127.0.0.1:9/", "runner_gitlab_api_token": "glpat-unused"}


@pytest.mark.parametrize(("role_vars", "message"), [
    ({**GITLAB, "runner_runners": [{"name": "build", "executor": "docker"}]},
     "runner_runners[0] (build) on localhost: executor docker needs docker.image (the default job image)"),
    ({**GITLAB, "runner_runners": [{"name": "a"}, {"name": "deploy", "executor": "ssh",
                                                   "ssh": {"user": "ci"}}]},
     "runner_runners[1] (deploy) on localhost: executor ssh needs ssh.host (the machine jobs run on)"),
    ({**GITLAB, "runner_runners": [{"name": "vm", "executor": "virtualbox", "virtualbox": {}}]},
     "executor virtualbox needs virtualbox.base_name (the VM jobs are cloned from)"),
    ({**GITLAB, "runner_runners": [{"name": "a"}, {"name": "a"}]},
     "runner_runners of localhost has duplicate names: ['a', 'a']; each runner needs its own name"),
    ({"runner_runners": [{"name": "a"}]},
     "runner_gitlab_url and one of runner_gitlab_api_token (a personal access token with the "
     "create_runner scope) or runner_registration_token must be set for localhost"),
])
def test_a_bad_runner_definition_fails_with_one_line_naming_it(
    role: RoleRunner, role_vars: dict[str, Any], message: str
) -> None:
    outcome = role.role(role_vars)
    assert outcome.rc != 0
    assert message in outcome.output
    assert "Traceback" not in outcome.output


def test_an_unknown_executor_is_rejected_by_the_argument_spec(role: RoleRunner) -> None:
    outcome = role.role({**GITLAB, "runner_runners": [{"name": "k", "executor": "kubernetes"}]})
    assert outcome.rc != 0
    assert "executor" in outcome.output and "kubernetes" in outcome.output
    assert "shell, docker, ssh, virtualbox" in outcome.output
