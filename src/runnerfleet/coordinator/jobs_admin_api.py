"""Admin/test endpoints for projects and jobs (admin PAT in `PRIVATE-TOKEN`).

Projects
  POST /-/projects {"path": "group/project"}
      201 {"id", "path", "repo_dir", "namespace_id"}: a bare repository on disk
      (`<data>/repos/<path>.git`, HEAD → main). Push with `git push <repo_dir> ...` or over HTTP
      as `root:<admin PAT>` to `<url>/<path>.git`. 400 {"message": {"path": [...]}} when the path
      is taken or malformed. Groups of the namespace are created as needed, so group runners
      (`POST /api/v4/user/runners` with `group_id` = namespace_id) and project runners
      (`project_id` = id) can be made for it. "runnerfleet/sandbox" exists from the start.

Jobs
  POST /-/jobs → 201 {"id", "token", "pipeline_id", "project_id", "status"}: enqueue a pending job
      in a new pipeline and wake the matching runners. Body (all optional but one of
      `steps`/`script`):
        project            "group/project" (default "runnerfleet/sandbox", empty repository)
        ref                "main"; ref_type "branch"|"tag" (default: what the repository has,
                           else "branch"); protected false
        sha                default: the ref's head in the repository (null for an empty one)
        before_sha         default 40 zeros
        name "job", stage "test", tags [], timeout 3600
        variables          [{key, value, masked, file, raw, public}] after the predefined CI_* set
        steps              [{name, script, timeout, when, allow_failure}] used as given, or
        before_script + script → step "script"; after_script → step "after_script"
        image, services, artifacts, cache (a `key: {files|files_commits, prefix}` is computed from
        the repository as GitLab does), hooks, dependencies [job ids], allow_git_fetch true,
        git_depth 20, features {...} merged into the payload's features,
        required_features [...] (also derived from artifacts/cache/steps as GitLab does),
        payload_overrides {...} merged last into the payload (malformed-payload tests)
      A persistent ref `refs/pipelines/<pipeline_id>` is created at the job's sha.
  GET /-/jobs → [job, ...];  GET /-/jobs/:id → job:
      {"id", "name", "stage", "status", "failure_reason", "exit_code", "runner_id", "system_id",
       "pipeline_id", "project_id", "ref", "sha", "tag_list", "timeout", "trace", "trace_bytesize",
       "trace_checksum", "output_checksum", "output_bytesize", "debug_trace", "created_at",
       "started_at", "finished_at", "updated_at", "updates": [PUT states received, in order]}
  POST /-/jobs/:id/cancel → 200 job: pending → canceled; running → canceling when the job's
      runner manager advertised `cancel_gracefully`, else canceled; otherwise unchanged.
  POST /-/jobs/:id/drop {"failure_reason": "unknown_failure"} → 200 job: pending/running/
      canceling → failed with that reason; otherwise unchanged.
  POST /-/housekeeping → 200 {}: run the stuck/timeout sweep now (it also runs by itself).

Faults (hooks_api): `POST /-/faults` with "kind": "status" | "drop" | "delay" — see hooks_api.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from runnerfleet.cache.filekeys import resolve_cache_keys
from runnerfleet.coordinator import repos
from runnerfleet.coordinator.entities import iso_time
from runnerfleet.coordinator.job_store import Job
from runnerfleet.coordinator.jobs import DEFAULT_PROJECT
from runnerfleet.coordinator.params import Bool, Int, InvalidValue, P, Str, declared
from runnerfleet.coordinator.payload import FAILURE_REASONS
from runnerfleet.coordinator.web import (
    Request,
    Response,
    Router,
    error,
    json_response,
    message,
    not_found,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
PROJECT_PATH = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidValue
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidValue
    return value


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise InvalidValue
    return list(value)


def _variables(value: Any) -> list[dict[str, Any]]:
    items = _list(value)
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidValue
    return items


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    return [str(t) for t in _list(value)]


_JOB_PARAMS = [
    P("project", Str),
    P("ref", Str),
    P("ref_type", Str, values=("branch", "tag")),
    P("protected", Bool),
    P("sha", Str),
    P("before_sha", Str),
    P("name", Str),
    P("stage", Str),
    P("tags", _tags),
    P("timeout", Int),
    P("variables", _variables),
    P("steps", _list),
    P("script", _lines),
    P("before_script", _lines),
    P("after_script", _lines),
    P("image", _dict),
    P("services", _list),
    P("artifacts", _list),
    P("cache", _list),
    P("hooks", _list),
    P("dependencies", _list),
    P("allow_git_fetch", Bool),
    P("git_depth", Int),
    P("features", _dict),
    P("required_features", _list),
    P("secrets", _dict),
    P("allow_failure_exit_codes", _list),
    P("payload_overrides", _dict),
]


def build_steps(p: dict[str, Any], timeout: int) -> list[dict[str, Any]]:
    """`Gitlab::Ci::Build::Step`: before_script + script, then after_script when defined."""
    if "steps" in p:
        steps = []
        for step in p["steps"]:
            full = {"name": "script", "script": [], "timeout": timeout, "when": "on_success",
                    "allow_failure": False}
            full.update(step if isinstance(step, dict) else {})
            steps.append(full)
        return steps
    steps = [{"name": "script", "script": [*p.get("before_script", []), *p.get("script", [])],
              "timeout": timeout, "when": "on_success", "allow_failure": False}]
    if p.get("after_script"):
        steps.append({"name": "after_script", "script": p["after_script"], "timeout": timeout,
                      "when": "always", "allow_failure": True})
    return steps


def register(router: Router, app: Coordinator) -> None:
    service = app.jobs

    def job_entity(job: Job) -> dict[str, Any]:
        trace = service.traces.read(job.id)
        return {
            "id": job.id,
            "name": job.name,
            "stage": job.stage,
            "status": job.status,
            "failure_reason": job.failure_reason,
            "exit_code": job.exit_code,
            "runner_id": job.runner_id,
            "system_id": job.system_xid,
            "pipeline_id": job.pipeline_id,
            "project_id": job.project_id,
            "ref": job.ref,
            "sha": job.sha,
            "tag_list": job.tag_list,
            "timeout": job.timeout,
            "trace": trace.decode("utf-8", "replace"),
            "trace_bytesize": len(trace),
            "trace_checksum": service.traces.checksum(job.id),
            "output_checksum": job.output_checksum,
            "output_bytesize": job.output_bytesize,
            "debug_trace": job.debug_trace,
            "created_at": iso_time(job.created_at),
            "started_at": iso_time(job.started_at),
            "finished_at": iso_time(job.finished_at),
            "updated_at": iso_time(job.updated_at),
            "updates": job.updates,
        }

    def job_from_path(req: Request) -> Job:
        app.require_admin(req)
        p = declared(req.path_params, [P("id", Int, required=True)])
        job = service.jobs.job_by_id(p["id"])
        if job is None:
            raise not_found("Job")
        return job

    @router.route("POST", r"/-/projects")
    def create_project(req: Request) -> Response:
        app.require_admin(req)
        p = declared(req.params, [P("path", Str, required=True)])
        path = p["path"].strip("/")
        if not PROJECT_PATH.fullmatch(path) or path.endswith(".git") or ".." in path:
            return message(400, {"path": ["can contain only letters, digits, '_', '-' and '.'"
                                          " segments separated by '/'"]})
        project = service.create_project(path)
        if project is None:
            return message(400, {"path": ["has already been taken"]})
        return json_response(201, {"id": project.id, "path": project.full_path,
                                   "repo_dir": str(service.repo_dir(project)),
                                   "namespace_id": project.group_id})

    @router.route("POST", r"/-/jobs")
    def enqueue(req: Request) -> Response:
        app.require_admin(req)
        p = declared(req.params, _JOB_PARAMS, at_least_one_of=("steps", "script"))
        project_path = p.get("project", DEFAULT_PROJECT)
        project = (service.ensure_project(project_path) if project_path == DEFAULT_PROJECT
                   else service.jobs.project_by_path(project_path))
        if project is None:
            return message(404, "404 Project Not Found")
        repo = service.repo_dir(project)
        ref = p.get("ref", "main")
        resolved = repos.resolve(repo, ref)
        sha = p.get("sha") or (resolved[0] if resolved else None)
        ref_type = p.get("ref_type") or (resolved[1] if resolved else "branch")
        commit = repos.commit_info(repo, sha) if sha and repos.commit_exists(repo, sha) else {}
        dependencies = [int(d) for d in p.get("dependencies", []) if str(d).isdigit()]
        for dep in dependencies:
            if service.jobs.job_by_id(dep) is None:
                return error(400, f"dependencies: job {dep} does not exist")
        timeout = p.get("timeout", 3600)
        spec: dict[str, Any] = {
            key: p[key] for key in (
                "variables", "image", "services", "artifacts", "cache", "hooks",
                "allow_git_fetch", "git_depth", "features", "required_features", "secrets",
                "allow_failure_exit_codes", "payload_overrides")
            if key in p
        }
        spec["steps"] = build_steps(p, timeout)
        if "cache" in spec:
            # `key: {files: [...], prefix: ...}` becomes the string key GitLab computes.
            spec["cache"] = resolve_cache_keys(spec["cache"], repo, sha)
        spec["dependencies"] = dependencies
        spec["commit"] = commit
        job = service.enqueue(project, {
            "name": p.get("name", "job"),
            "stage": p.get("stage", "test"),
            "ref": ref,
            "ref_type": ref_type,
            "protected": p.get("protected", False),
            "sha": sha,
            "before_sha": p.get("before_sha", repos.ZERO_SHA),
            "tag_list": p.get("tags", []),
            "timeout": timeout,
            "spec": spec,
        })
        return json_response(201, {"id": job.id, "token": job.token,
                                   "pipeline_id": job.pipeline_id, "project_id": project.id,
                                   "status": job.status})

    @router.route("GET", r"/-/jobs")
    def list_jobs(req: Request) -> Response:
        app.require_admin(req)
        return json_response(200, [job_entity(j) for j in service.jobs.jobs()])

    @router.route("GET", r"/-/jobs/(?P<id>[^/]+)")
    def show_job(req: Request) -> Response:
        return json_response(200, job_entity(job_from_path(req)))

    @router.route("POST", r"/-/jobs/(?P<id>[^/]+)/cancel")
    def cancel_job(req: Request) -> Response:
        return json_response(200, job_entity(service.cancel(job_from_path(req))))

    @router.route("POST", r"/-/jobs/(?P<id>[^/]+)/drop")
    def drop_job(req: Request) -> Response:
        job = job_from_path(req)
        p = declared(req.params, [P("failure_reason", Str, values=FAILURE_REASONS)])
        return json_response(200, job_entity(
            service.drop(job, p.get("failure_reason", "unknown_failure"))))

    @router.route("POST", r"/-/housekeeping")
    def housekeeping(req: Request) -> Response:
        app.require_admin(req)
        service.housekeeping()
        return json_response(200, {})
