"""GitLab's REST routes for pipelines and their jobs (PAT in `PRIVATE-TOKEN`).

  POST /api/v4/projects/:id/pipeline {ref, variables: [{key, value, masked?}]} → 201 pipeline
      (`masked` is this coordinator's addition: GitLab takes masked values from project settings)
      400 {"message": {"base": [lint lines | "Reference not found" | "Missing CI config file"]}}
  GET  /api/v4/projects/:id/pipelines → [pipeline] newest first
  GET  /api/v4/projects/:id/pipelines/:pipeline_id → pipeline
  POST /api/v4/projects/:id/pipelines/:pipeline_id/cancel → 200 pipeline (cancelable jobs
      canceled; running ones `canceling` until their runner stops them)
  POST /api/v4/projects/:id/pipelines/:pipeline_id/retry → 201 pipeline (latest failed and
      canceled jobs recreated, skipped ones reset, the pipeline processed again)
  GET  /api/v4/projects/:id/pipelines/:pipeline_id/jobs[?include_retried=true] → [job]
  GET  /api/v4/projects/:id/jobs/:job_id → job;  GET .../jobs/:job_id/trace → text/plain
  POST /api/v4/projects/:id/jobs/:job_id/cancel → 201 job; /retry → 201 new job (403 when not
      retryable); /play → 200 job, manual or scheduled (400 "Unplayable Job")
A job entity carries `scheduled_at` (this coordinator's addition; GitLab shows it in GraphQL
only): when a `scheduled` (`when: delayed`) job is due.
`:id` is the project id or its URL-encoded full path.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runnerfleet.coordinator.entities import iso_time
from runnerfleet.coordinator.job_store import Job, Project
from runnerfleet.coordinator.params import InvalidValue, P, Str, declared
from runnerfleet.coordinator.pipelines import CiJob, PipelineCreateError, PipelineRow, PipelineService
from runnerfleet.coordinator.web import (
    HttpError,
    Request,
    Response,
    Router,
    bad_request,
    forbidden,
    json_response,
    message,
    not_found,
    unauthorized,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

# The id, or the full path (its `%2F` arrive decoded, so the path may hold slashes).
_PROJECT = r"/api/v4/projects/(?P<project>[^/]+(?:/[^/]+)*?)"


def _duration(started: float | None, finished: float | None) -> float | None:
    if started is None:
        return None
    return round((finished or started) - started, 3) if finished else None


def register(router: Router, app: Coordinator) -> PipelineService:
    pipelines = PipelineService(app.jobs)
    store = app.jobs.jobs

    def project_of(req: Request) -> Project:
        if app.current_user(req) is None:
            raise unauthorized()
        ident = urllib.parse.unquote(req.path_params["project"])
        project = (store.project_by_id(int(ident)) if ident.isdigit()
                   else store.project_by_path(ident))
        if project is None:
            raise not_found("Project")
        return project

    def pipeline_entity(req: Request, row: PipelineRow) -> dict[str, Any]:
        project = store.project_by_id(row.project_id)
        jobs = [c for c in pipelines.ci_jobs(row.id) if not c.retried]
        started = [c.job.started_at for c in jobs if c.job.started_at]
        status = pipelines.status(row.id)
        finished = ([c.job.finished_at for c in jobs if c.job.finished_at]
                    if status in ("success", "failed", "canceled", "skipped") else [])
        base = app.external_url(req)
        return {
            "id": row.id, "iid": row.id, "project_id": row.project_id, "sha": row.sha,
            "ref": row.ref, "status": status, "source": row.source,
            "created_at": iso_time(row.created_at),
            "updated_at": iso_time(max([row.created_at, *(c.job.updated_at for c in jobs)])),
            "started_at": iso_time(min(started)) if started else None,
            "finished_at": iso_time(max(finished)) if finished else None,
            "duration": (round(max(finished) - min(started)) if finished and started else None),
            "web_url": f"{base}/{project.full_path if project else ''}/-/pipelines/{row.id}",
        }

    def job_entity(req: Request, ci: CiJob) -> dict[str, Any]:
        job = ci.job
        row = pipelines.pipeline(job.pipeline_id)
        project = store.project_by_id(job.project_id)
        base = app.external_url(req)
        return {
            "id": job.id, "name": job.name, "stage": job.stage, "status": job.status,
            "allow_failure": ci.allow_failure, "when": ci.when, "retried": ci.retried,
            "ref": job.ref, "tag_list": job.tag_list, "failure_reason": job.failure_reason,
            "created_at": iso_time(job.created_at), "started_at": iso_time(job.started_at),
            "finished_at": iso_time(job.finished_at),
            "scheduled_at": iso_time(ci.scheduled_at),
            "duration": _duration(job.started_at, job.finished_at),
            "pipeline": {"id": job.pipeline_id, "project_id": job.project_id, "ref": job.ref,
                         "sha": job.sha, "status": pipelines.status(job.pipeline_id),
                         "source": row.source if row else None},
            "web_url": f"{base}/{project.full_path if project else ''}/-/jobs/{job.id}",
        }

    def pipeline_of(req: Request, project: Project) -> PipelineRow:
        ident = req.path_params["pipeline"]
        row = pipelines.pipeline(int(ident), project.id) if ident.isdigit() else None
        if row is None:
            raise not_found()
        return row

    def job_of(req: Request) -> CiJob:
        project = project_of(req)
        ident = req.path_params["job"]
        ci = pipelines.ci_job(int(ident)) if ident.isdigit() else None
        if ci is None or ci.job.project_id != project.id:
            raise not_found()
        return ci

    @router.route("POST", _PROJECT + r"/pipeline")
    def create(req: Request) -> Response:
        project = project_of(req)
        p = declared(req.params, [P("ref", Str, required=True), P("variables", _variables)])
        variables = {str(v["key"]): str(v.get("value", "")) for v in p.get("variables", [])}
        masked = {str(v["key"]) for v in p.get("variables", []) if v.get("masked") is True}
        try:
            row = pipelines.create(project, p["ref"], variables, masked)
        except PipelineCreateError as exc:
            return message(400, {"base": exc.problems})
        return json_response(201, pipeline_entity(req, row))

    @router.route("GET", _PROJECT + r"/pipelines")
    def list_pipelines(req: Request) -> Response:
        project = project_of(req)
        return json_response(200, [pipeline_entity(req, r) for r in pipelines.pipelines(project.id)])

    @router.route("GET", _PROJECT + r"/pipelines/(?P<pipeline>[^/]+)")
    def show_pipeline(req: Request) -> Response:
        project = project_of(req)
        return json_response(200, pipeline_entity(req, pipeline_of(req, project)))

    def pipeline_action(path: str, action: Callable[[int], None], status: int) -> None:
        def handle(req: Request) -> Response:
            row = pipeline_of(req, project_of(req))
            action(row.id)
            return json_response(status, pipeline_entity(req, row))

        router.add("POST", _PROJECT + r"/pipelines/(?P<pipeline>[^/]+)/" + path, handle)

    # (path, what it does to the pipeline, the answer's status)
    pipeline_action("cancel", pipelines.cancel_pipeline, 200)
    pipeline_action("retry", pipelines.retry_pipeline, 201)

    @router.route("GET", _PROJECT + r"/pipelines/(?P<pipeline>[^/]+)/jobs")
    def pipeline_jobs(req: Request) -> Response:
        project = project_of(req)
        row = pipeline_of(req, project)
        retried = str(req.query.get("include_retried", "")).lower() == "true"
        return json_response(200, [job_entity(req, c) for c in pipelines.ci_jobs(row.id)
                                   if retried or not c.retried])

    @router.route("GET", _PROJECT + r"/jobs/(?P<job>[^/]+)")
    def show_job(req: Request) -> Response:
        return json_response(200, job_entity(req, job_of(req)))

    @router.route("GET", _PROJECT + r"/jobs/(?P<job>[^/]+)/trace")
    def trace(req: Request) -> Response:
        ci = job_of(req)
        return Response(200, app.jobs.traces.read(ci.job.id),
                        [("Content-Type", "text/plain; charset=utf-8")])

    def job_action(path: str, action: Callable[[CiJob], Job | None], status: int,
                   refused: Callable[[], HttpError] | None = None) -> None:
        def handle(req: Request) -> Response:
            job = action(job_of(req))  # the job itself, or its new copy (retry)
            if job is None:
                assert refused is not None  # only the actions that may refuse answer None
                raise refused()
            fresh = pipelines.ci_job(job.id)
            assert fresh is not None
            return json_response(status, job_entity(req, fresh))

        router.add("POST", _PROJECT + r"/jobs/(?P<job>[^/]+)/" + path, handle)

    # (path, what it does to the job, the answer's status, the error when the job does not allow it)
    job_action("cancel", pipelines.cancel, 201)
    job_action("retry", pipelines.retry, 201, lambda: forbidden("Job is not retryable"))
    job_action("play", pipelines.play, 200, lambda: bad_request("Unplayable Job"))

    return pipelines


def _variables(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise InvalidValue
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidValue
    return value

