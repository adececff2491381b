"""JobPayload.from_json: the coordinator-api §6.11 example decodes; bad payloads give one field-path line."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.errors import RunnerfleetError
from runnerfleet.job import JobPayload, JobPayloadError, Variable

FIXTURE = Path(__file__).parent / "fixtures" / "job_request_6_11.json"


@pytest.fixture
def body() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def test_the_spec_example_decodes_into_typed_fields(body: dict[str, Any]) -> None:
    job = JobPayload.from_json(body)
    assert job.id == 4711
    assert job.token.startswith("glcbt-")
    assert job.allow_git_fetch is True
    assert job.job_info.name == "test:unit"
    assert job.job_info.scoped_user_id is None
    assert job.job_info.time_in_queue_seconds == 1.84
    assert job.job_info.project_jobs_running_on_instance_runners_count == "+Inf"
    assert job.git_info.sha == "9f2c1b7d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"
    assert job.git_info.refspecs[0] == "+refs/pipelines/881:refs/pipelines/881"
    assert job.git_info.depth == 20
    assert job.git_info.protected is True
    assert job.runner_info.timeout == 3600
    assert job.runner_info.runner_session_url is None
    assert [s.name for s in job.steps] == ["script", "after_script"]
    assert job.steps[0].script == ["npm ci", "npm test -- --reporter junit"]
    assert job.step("after_script") is not None
    assert job.step("after_script").allow_failure is True  # type: ignore[union-attr]
    assert job.hook_script("pre_get_sources_script") == ["git config --global http.postBuffer 524288000"]
    assert job.image is not None and job.image.name == "node:22-bookworm"
    assert job.image.entrypoint == []
    assert job.image.executor_opts == {"docker": {"platform": "linux/amd64", "user": "1000"}}
    assert job.services[0].aliases == ["db", "postgres"]
    assert job.services[0].variables.get("POSTGRES_PASSWORD") == "ci"
    assert [a.artifact_type for a in job.artifacts] == ["archive", "junit"]
    assert job.artifacts[1].untracked is False
    assert job.cache[0].fallback_keys == ["npm-default-protected"]
    assert job.credentials[0].url == "registry.gitlab.example.com"
    assert job.dependencies[0].artifacts_file.filename == "artifacts.zip"
    assert job.dependencies[0].artifacts_file.size == 1048211
    assert job.features.trace_sections is True
    assert "script_failure" in job.features.failure_reasons


def test_variable_flags_default_to_false_when_gitlab_omits_them(body: dict[str, Any]) -> None:
    job = JobPayload.from_json(body)
    assert job.variables.find("DEPLOY_KEY") == Variable(
        "DEPLOY_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\n…", public=False, masked=False, file=True
    )
    pattern = job.variables.find("PATTERN")
    assert pattern is not None and pattern.raw and not pattern.file
    token = job.variables.find("CI_JOB_TOKEN")
    assert token is not None and token.masked and not token.public


def test_unknown_fields_are_ignored(body: dict[str, Any]) -> None:
    body["brand_new_field"] = {"x": [1, 2]}
    body["git_info"]["future_key"] = 3
    body["steps"][0]["future_key"] = "y"
    assert JobPayload.from_json(body).id == 4711


def test_a_minimal_payload_gets_gitlab_defaults() -> None:
    job = JobPayload.from_json({"id": 1, "token": "t"})
    assert job.allow_git_fetch is False
    assert job.steps == [] and job.image is None and job.artifacts == []
    assert job.git_info.depth == 0 and job.git_info.protected is None
    assert job.features.trace_sections is False
    assert len(job.variables) == 0


def test_a_step_without_when_runs_on_success() -> None:
    job = JobPayload.from_json({"id": 1, "token": "t", "steps": [{"name": "script", "script": ["x"]}]})
    assert job.steps[0].when == "on_success"


def _mutate(body: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(body)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["id"], _DELETE, "id is missing"),
        (["token"], _DELETE, "token is missing"),
        (["id"], "4711", "id: expected an integer, got a string"),
        (["id"], True, "id: expected an integer, got true"),
        (["token"], 5, "token: expected a string, got 5"),
        (["allow_git_fetch"], "yes", "allow_git_fetch: expected true or false, got a string"),
        (["steps", 0, "script"], 3, "steps[0].script: expected a list of strings, got 3"),
        (["steps", 0, "script"], ["ok", 7], "steps[0].script: expected a list of strings, got a list"),
        (["steps", 1, "when"], "sometimes",
         "steps[1].when: expected on_success, on_failure or always, got 'sometimes'"),
        (["steps", 0, "name"], _DELETE, "steps[0].name is missing"),
        (["steps"], {"name": "script"}, "steps: expected a list, got an object"),
        (["steps", 0], "npm ci", "steps[0]: expected an object, got a string"),
        (["variables", 3, "key"], _DELETE, "variables[3].key is missing"),
        (["variables", 3, "value"], 4711, "variables[3].value: expected a string, got 4711"),
        (["variables", 3, "masked"], "true", "variables[3].masked: expected true or false, got a string"),
        (["variables", 3, "key"], None, "variables[3].key: expected a string, got null"),
        (["variables", 3, "key"], 5, "variables[3].key: expected a string, got 5"),
        (["variables", 3, "raw"], 1, "variables[3].raw: expected true or false, got 1"),
        (["variables", 3], "A=b", "variables[3]: expected an object, got a string"),
        (["variables"], {"key": "A"}, "variables: expected a list, got an object"),
        (["git_info"], [], "git_info: expected an object, got a list"),
        (["git_info", "depth"], "20", "git_info.depth: expected an integer, got a string"),
        (["git_info", "depth"], -1, "git_info.depth: expected 0 or more, got -1"),
        (["git_info", "ref_type"], "commit", "git_info.ref_type: expected branch or tag, got 'commit'"),
        (["git_info", "refspecs"], "+refs/heads/*",
         "git_info.refspecs: expected a list of strings, got a string"),
        (["runner_info", "timeout"], 1.5, "runner_info.timeout: expected an integer, got 1.5"),
        (["job_info", "time_in_queue_seconds"], "1s",
         "job_info.time_in_queue_seconds: expected a number, got a string"),
        (["image", "executor_opts", "docker", "memory"], "1g",
         "image.executor_opts.docker.memory: unsupported executor option"),
        (["image", "executor_opts", "podman"], {}, "image.executor_opts.podman: unsupported executor option"),
        (["image", "pull_policy"], ["sometimes"],
         "image.pull_policy[0]: expected always, never or if-not-present, got 'sometimes'"),
        (["services", 0, "variables", 0, "value"], None, None),
        (["artifacts", 0, "paths"], "dist/", "artifacts[0].paths: expected a list of strings, got a string"),
        (["artifacts", 1, "when"], "never",
         "artifacts[1].when: expected on_success, on_failure or always, got 'never'"),
        (["cache", 0, "untracked"], 0, "cache[0].untracked: expected true or false, got 0"),
        (["dependencies", 0, "id"], _DELETE, "dependencies[0].id is missing"),
        (["dependencies", 0, "artifacts_file", "size"], "1 MB",
         "dependencies[0].artifacts_file.size: expected an integer, got a string"),
        (["features", "trace_sections"], 1, "features.trace_sections: expected true or false, got 1"),
        (["hooks", 0, "script"], "git config", "hooks[0].script: expected a list of strings, got a string"),
        (["credentials", 0, "password"], 12, "credentials[0].password: expected a string, got 12"),
    ],
)
def test_a_bad_field_gives_one_line_naming_its_path(
    body: dict[str, Any], path: list[str | int], value: Any, message: str | None
) -> None:
    data = _mutate(body, path, value)
    if message is None:
        # null where a string is expected is GitLab's "zero value", not an error.
        JobPayload.from_json(data)
        return
    with pytest.raises(JobPayloadError) as info:
        JobPayload.from_json(data)
    assert str(info.value) == "job payload: " + message
    assert "\n" not in str(info.value)
    assert isinstance(info.value, RunnerfleetError)


@pytest.mark.parametrize("data", [None, [], "job", 3])
def test_a_body_that_is_not_an_object_is_rejected(data: Any) -> None:
    with pytest.raises(JobPayloadError, match=r"^job payload: expected an object, got "):
        JobPayload.from_json(data)


def test_the_error_never_contains_the_token(body: dict[str, Any]) -> None:
    data = _mutate(body, ["variables", 4, "public"], "glcbt-secret")
    with pytest.raises(JobPayloadError) as info:
        JobPayload.from_json(data)
    assert "glcbt-secret" not in str(info.value)


def test_variable_entries_with_null_values_null_flags_and_unknown_fields_decode_as_gitlab_means() -> None:
    entries = [
        {"key": "PLAIN", "value": "v"},
        {"key": "NULL_VALUE", "value": None, "masked": None},
        {"key": "NO_VALUE", "public": True, "future": {"x": 1}},
        {"key": "ALL", "value": "s3cret", "public": False, "masked": True, "file": True, "raw": True},
    ]
    job = JobPayload.from_json({"id": 1, "token": "t", "variables": entries})
    assert list(job.variables) == [
        Variable("PLAIN", "v"),
        Variable("NULL_VALUE", ""),
        Variable("NO_VALUE", "", public=True),
        Variable("ALL", "s3cret", masked=True, file=True, raw=True),
    ]
