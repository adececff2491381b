"""Which jobs need the helper container: only those whose helper stages have real work."""

from __future__ import annotations

from typing import Any

import pytest

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.docker.executor import needs_helper
from runnerfleet.job import JobPayload, JobVariables, Variable


def _job(**extra: Any) -> tuple[JobPayload, JobVariables]:
    body: dict[str, Any] = {"id": 1, "token": "t", "variables": [{"key": "GIT_STRATEGY", "value": "none"}]}
    for key, value in extra.items():
        if key == "variables":
            body["variables"] = [*body["variables"], *value]
        else:
            body[key] = value
    payload = JobPayload.from_json(body)
    return payload, JobVariables([Variable(v.key, v.value, public=True) for v in payload.variables])


def test_a_job_without_git_cache_artifacts_file_variables_or_hooks_needs_no_helper() -> None:
    payload, variables = _job()
    assert not needs_helper(RunnerConfig(executor="docker"), payload, variables)
    payload, variables = _job(variables=[{"key": "GIT_STRATEGY", "value": "empty"}])
    assert not needs_helper(RunnerConfig(executor="docker"), payload, variables)


@pytest.mark.parametrize("extra", [
    {"variables": [{"key": "GIT_STRATEGY", "value": "fetch"}]},
    {"cache": [{"key": "k", "paths": ["vendor"]}]},
    {"artifacts": [{"name": "a", "paths": ["out"]}]},
    {"dependencies": [{"id": 2, "name": "build", "artifacts_file": {"filename": "a.zip", "size": 1}}]},
    {"variables": [{"key": "A_FILE", "value": "x", "file": True}]},
    {"hooks": [{"name": "pre_get_sources_script", "script": ["echo hi"]}]},
])
def test_real_helper_work_needs_the_helper_container(extra: dict[str, Any]) -> None:
    payload, variables = _job(**extra)
    assert needs_helper(RunnerConfig(executor="docker"), payload, variables)


def test_runner_side_file_variables_and_hooks_need_the_helper_container() -> None:
    payload, variables = _job()
    assert needs_helper(RunnerConfig(executor="docker", tls_ca_file="/etc/ca.pem"), payload, variables)
    assert needs_helper(RunnerConfig(executor="docker", pre_get_sources_script="git config -l"), payload,
                        variables)
