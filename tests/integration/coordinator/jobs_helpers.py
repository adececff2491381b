"""Shared steps of the job tests: enqueue through the admin hooks, take jobs as a runner."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.coordinator import RunningCoordinator

# What a gitlab-runner 19.4 shell runner advertises (spec §4.1), cancel_gracefully included.
FEATURES: dict[str, bool] = {
    "variables": True, "image": False, "services": False, "artifacts": True, "cache": True,
    "fallback_cache_keys": True, "shared": False, "upload_multiple_artifacts": True,
    "upload_raw_artifacts": True, "session": False, "terminal": False, "refspecs": True,
    "masking": True, "proxy": False, "raw_variables": True, "artifacts_exclude": True,
    "multi_build_steps": True, "trace_reset": True, "trace_checksum": True, "trace_size": True,
    "vault_secrets": False, "cancelable": True, "return_exit_code": True,
    "service_variables": False, "service_multiple_aliases": False, "image_executor_opts": False,
    "service_executor_opts": False, "cancel_gracefully": True, "native_steps_integration": False,
    "two_phase_job_commit": False, "job_inputs": False,
}
INFO: dict[str, Any] = {
    "name": "gitlab-runner", "version": "19.4.0", "revision": "d79f3e7b", "platform": "linux",
    "architecture": "amd64", "executor": "shell", "shell": "bash", "features": FEATURES,
    "config": {"gpus": ""},
}


def enqueue(coordinator: RunningCoordinator, **body: Any) -> dict[str, Any]:
    """`POST /-/jobs`; a plain `script` job unless the body says otherwise."""
    if "steps" not in body and "script" not in body:
        body["script"] = ["echo hello"]
    with coordinator._admin() as c:
        r = c.post("/-/jobs", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


def job(coordinator: RunningCoordinator, job_id: int) -> dict[str, Any]:
    """`GET /-/jobs/:id`: the coordinator's view of a job."""
    with coordinator._admin() as c:
        r = c.get(f"/-/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())


def admin_post(coordinator: RunningCoordinator, url: str, **body: Any) -> httpx.Response:
    with coordinator._admin() as c:
        return c.post(url, json=body)


def create_project(coordinator: RunningCoordinator, path: str) -> dict[str, Any]:
    """`POST /-/projects`: a project with a bare repository on disk."""
    r = admin_post(coordinator, "/-/projects", path=path)
    assert r.status_code == 201, r.text
    return dict(r.json())


def request_job(api: httpx.Client, token: str, *, features: dict[str, bool] | None = None,
                system_id: str = "s_000000000001", **extra: Any) -> httpx.Response:
    """`POST /jobs/request` as gitlab-runner sends it."""
    info = {**INFO, "features": {**FEATURES, **(features or {})}}
    return api.post("/jobs/request", json={"token": token, "system_id": system_id,
                                           "info": info, **extra},
                    headers={"RUNNER-TOKEN": token, "Accept": "application/json"})


def take_job(coordinator: RunningCoordinator, api: httpx.Client, *,
             runner: dict[str, Any] | None = None,
             runner_features: dict[str, bool] | None = None, **job_body: Any) -> dict[str, Any]:
    """Enqueue a job, take it with a (new) runner and return the 201 payload."""
    runner = runner or coordinator.create_runner()
    enqueue(coordinator, **job_body)
    r = request_job(api, runner["token"], features=runner_features)
    assert r.status_code == 201, r.text
    return dict(r.json())


def put(api: httpx.Client, payload: dict[str, Any], **body: Any) -> httpx.Response:
    """`PUT /jobs/:id` with the job's token in header and body."""
    return api.put(f"/jobs/{payload['id']}", json={"token": payload["token"], **body},
                   headers={"JOB-TOKEN": payload["token"]})


def patch(api: httpx.Client, payload: dict[str, Any], data: bytes, start: int,
          **headers: str) -> httpx.Response:
    """`PATCH /jobs/:id/trace` with the runner's inclusive Content-Range."""
    return api.patch(
        f"/jobs/{payload['id']}/trace", params={"debug_trace": "false"}, content=data,
        headers={"JOB-TOKEN": payload["token"], "Content-Type": "text/plain",
                 "Content-Range": f"{start}-{start + len(data) - 1}", **headers},
    )
