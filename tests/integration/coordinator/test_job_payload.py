"""The 201 job payload: every key of spec §6, variables, steps, timeout capping, overrides."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import enqueue, request_job, take_job

TOP_LEVEL = {"id", "token", "allow_git_fetch", "job_info", "git_info", "runner_info",
             "variables", "steps", "hooks", "image", "services", "artifacts", "cache",
             "credentials", "features", "dependencies"}


def _vars(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["key"]: v for v in payload["variables"]}


def test_payload_has_gitlab_keys_and_json_content_type(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    runner = coordinator.create_runner(description="shell runner", tag_list="linux,shell")
    created = enqueue(coordinator, name="test:unit", stage="verify", tags=["linux"])
    r = request_job(api, runner["token"])
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json"
    p = r.json()
    assert set(p) == TOP_LEVEL
    assert p["id"] == created["id"] and p["token"] == created["token"]
    assert re.match(r"^glcbt-[A-Za-z0-9_-]{20,}$", p["token"])
    assert p["allow_git_fetch"] is True
    info = p["job_info"]
    assert (info["id"], info["name"], info["stage"]) == (created["id"], "test:unit", "verify")
    assert info["project_id"] == created["project_id"]
    assert (info["project_name"], info["project_full_path"]) == ("sandbox", "runnerfleet/sandbox")
    assert isinstance(info["time_in_queue_seconds"], float | int)
    assert p["runner_info"]["timeout"] == 3600
    assert p["image"] is None and p["services"] == [] and p["artifacts"] is None
    assert p["cache"] == [] and p["dependencies"] == [] and p["credentials"] == []
    f = p["features"]
    assert f["trace_sections"] is True and f["token_mask_prefixes"] == []
    assert {"script_failure", "runner_system_failure", "job_execution_timeout",
            "unknown_failure", "runner_unsupported"} <= set(f["failure_reasons"])


def test_git_info_has_token_url_pipeline_refspec_and_depth(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, ref="main")
    g = p["git_info"]
    host = coordinator.url.split("://", 1)[1]
    assert g["repo_url"] == f"http://gitlab-ci-token:{p['token']}@{host}/runnerfleet/sandbox.git"
    pipeline = _vars(p)["CI_PIPELINE_ID"]["value"]
    assert g["refspecs"] == [f"+refs/pipelines/{pipeline}:refs/pipelines/{pipeline}",
                             "+refs/heads/main:refs/remotes/origin/main"]
    assert (g["ref"], g["ref_type"], g["depth"]) == ("main", "branch", 20)
    assert g["before_sha"] == "0" * 40 and g["repo_object_format"] == "sha1"


def test_depth_zero_fetches_every_branch_and_tag(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, git_depth=0)
    assert p["git_info"]["depth"] == 0
    assert p["git_info"]["refspecs"][1:] == ["+refs/heads/*:refs/remotes/origin/*",
                                             "+refs/tags/*:refs/tags/*"]
    p = take_job(coordinator, api, variables=[{"key": "GIT_DEPTH", "value": "3"}])
    assert p["git_info"]["depth"] == 3


def test_predefined_variables_then_job_variables_with_gitlab_flags(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    runner = coordinator.create_runner(description="r1", tag_list="a,b")
    p = take_job(coordinator, api, runner=runner, name="build job", stage="build",
                 variables=[
                     {"key": "PLAIN", "value": "x"},
                     {"key": "SECRET", "value": "s3cr3t-value", "masked": True, "public": False},
                     {"key": "KEYFILE", "value": "-----BEGIN-----", "file": True},
                     {"key": "RAW", "value": "$NOT_EXPANDED", "raw": True},
                 ])
    v = _vars(p)
    keys = [x["key"] for x in p["variables"]]
    assert keys[-4:] == ["PLAIN", "SECRET", "KEYFILE", "RAW"]
    assert v["CI_JOB_ID"]["value"] == str(p["id"])
    assert v["CI_JOB_TOKEN"] == {"key": "CI_JOB_TOKEN", "value": p["token"], "public": False,
                                 "masked": True}
    assert v["CI_REPOSITORY_URL"]["value"] == p["git_info"]["repo_url"]
    assert v["CI_REPOSITORY_URL"]["public"] is False
    assert (v["CI_JOB_NAME"]["value"], v["CI_JOB_STAGE"]["value"]) == ("build job", "build")
    assert v["CI_JOB_NAME_SLUG"]["value"] == "build-job"
    assert v["CI_JOB_URL"]["value"] == (
        f"{coordinator.url}/runnerfleet/sandbox/-/jobs/{p['id']}")
    assert v["CI_PROJECT_PATH"]["value"] == "runnerfleet/sandbox"
    assert v["CI_PROJECT_NAMESPACE"]["value"] == "runnerfleet"
    assert v["CI_PROJECT_URL"]["value"] == f"{coordinator.url}/runnerfleet/sandbox"
    assert v["CI_SERVER_URL"]["value"] == coordinator.url
    host, port = coordinator.url.split("://", 1)[1].split(":")
    assert (v["CI_SERVER_HOST"]["value"], v["CI_SERVER_PORT"]["value"]) == (host, port)
    assert v["CI_SERVER_PROTOCOL"]["value"] == "http"
    assert v["CI_API_V4_URL"]["value"] == f"{coordinator.url}/api/v4"
    assert v["CI_COMMIT_REF_NAME"]["value"] == "main"
    assert v["CI_COMMIT_BRANCH"]["value"] == "main"
    assert v["CI_RUNNER_ID"]["value"] == str(runner["id"])
    assert v["CI_RUNNER_DESCRIPTION"]["value"] == "r1"
    assert v["CI_RUNNER_TAGS"]["value"] == '["a", "b"]'
    assert v["GITLAB_CI"]["value"] == "true" and v["CI"]["value"] == "true"
    # `public`/`masked` always; `file`/`raw` only when true.
    assert v["PLAIN"] == {"key": "PLAIN", "value": "x", "public": True, "masked": False}
    assert v["SECRET"] == {"key": "SECRET", "value": "s3cr3t-value", "public": False,
                           "masked": True}
    assert v["KEYFILE"]["file"] is True and "raw" not in v["KEYFILE"]
    assert v["RAW"]["raw"] is True and "file" not in v["RAW"]
    for item in p["variables"]:
        assert {"key", "value", "public", "masked"} <= set(item)
        assert item.get("file", True) is True and item.get("raw", True) is True


def test_steps_are_built_from_before_script_script_and_after_script(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, timeout=1800, before_script=["echo before"],
                 script=["echo one", "echo two"], after_script=["echo after"])
    assert p["steps"] == [
        {"name": "script", "script": ["echo before", "echo one", "echo two"], "timeout": 1800,
         "when": "on_success", "allow_failure": False},
        {"name": "after_script", "script": ["echo after"], "timeout": 1800, "when": "always",
         "allow_failure": True},
    ]
    p = take_job(coordinator, api, script=["true"])
    assert [s["name"] for s in p["steps"]] == ["script"]  # no after_script step when undefined


def test_runner_session_url_comes_from_the_request_session(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    token = coordinator.create_runner()["token"]
    enqueue(coordinator)
    session = {"url": "https://runner.example:8093/session/abc", "certificate": "PEM",
               "authorization": "Bearer secret"}
    r = request_job(api, token, session=session)
    assert r.json()["runner_info"]["runner_session_url"] == session["url"]


def test_runner_maximum_timeout_caps_the_job_timeout(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    runner = coordinator.create_runner(maximum_timeout=900)
    p = take_job(coordinator, api, runner=runner, timeout=7200)
    assert p["runner_info"]["timeout"] == 900
    p = take_job(coordinator, api, runner=runner, timeout=600)
    assert p["runner_info"]["timeout"] == 600


def test_image_services_artifacts_cache_hooks_dependencies_pass_through(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    runner = coordinator.create_runner()
    build = take_job(coordinator, api, runner=runner, name="build")
    image: dict[str, Any] = {"name": "alpine:3.20", "entrypoint": None, "ports": [],
                             "executor_opts": {}, "pull_policy": ["if-not-present"]}
    services: list[dict[str, Any]] = [{"name": "postgres:16", "alias": "db", "entrypoint": None,
                                       "command": None, "ports": [], "variables": []}]
    artifacts = [{"name": "dist", "untracked": False, "paths": ["dist/"], "when": "on_success",
                  "expire_in": "1 week", "artifact_type": "archive", "artifact_format": "zip"}]
    cache = [{"key": "deps", "untracked": False, "policy": "pull-push", "paths": [".cache/"],
              "when": "on_success", "fallback_keys": []}]
    hooks = [{"name": "pre_get_sources_script", "script": ["echo hook"]}]
    p = take_job(coordinator, api, runner=runner, image=image, services=services,
                 artifacts=artifacts, cache=cache, hooks=hooks, dependencies=[build["id"]],
                 allow_git_fetch=False, features={"trace_sections": False})
    assert (p["image"], p["services"], p["artifacts"]) == (image, services, artifacts)
    assert (p["cache"], p["hooks"]) == (cache, hooks)
    assert p["dependencies"] == [{"id": build["id"], "name": "build", "token": p["token"]}]
    assert p["allow_git_fetch"] is False
    assert p["features"]["trace_sections"] is False
    assert p["features"]["failure_reasons"]  # merged, not replaced


def test_payload_overrides_are_merged_last_for_malformed_payload_tests(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    p = take_job(coordinator, api, payload_overrides={"steps": "not a list", "extra": 1})
    assert p["steps"] == "not a list" and p["extra"] == 1


def test_enqueue_validates_its_body(coordinator: RunningCoordinator) -> None:
    with coordinator._admin() as c:
        r = c.post("/-/jobs", json={"name": "nothing to run"})
        assert r.status_code == 400
        assert r.json()["error"].endswith("are missing, at least one parameter must be provided")
        r = c.post("/-/jobs", json={"script": ["true"], "project": "no/such"})
        assert (r.status_code, r.json()) == (404, {"message": "404 Project Not Found"})
        r = c.post("/-/jobs", json={"script": ["true"], "timeout": "soon"})
        assert (r.status_code, r.json()) == (400, {"error": "timeout is invalid"})
    with httpx.Client(base_url=coordinator.url, trust_env=False) as anonymous:
        r = anonymous.post("/-/jobs", json={"script": ["true"]})
        assert (r.status_code, r.json()) == (401, {"message": "401 Unauthorized"})
