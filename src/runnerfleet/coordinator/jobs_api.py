"""Runner job endpoints: `POST /jobs/request` (with long polling), `PUT /jobs/:id`, trace PATCH."""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING, Any

from runnerfleet.coordinator.job_store import EXECUTING, Job
from runnerfleet.coordinator.params import Hash, Int, P, Str, declared
from runnerfleet.coordinator.runners_api import manager_info
from runnerfleet.coordinator.store import LEGACY_SYSTEM_XID
from runnerfleet.coordinator.web import (
    HttpError,
    Request,
    Response,
    Router,
    forbidden,
    json_response,
    message,
    no_content,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

_REQUEST_PARAMS = [
    P("token", Str, required=True),
    P("last_update", Str),
    P("info", Hash),
    P("session", Hash),
    P("system_id", Str),
    P("job_age", Int),
]
_UPDATE_PARAMS = [
    P("token", Str, required=True),
    P("id", Int, required=True),
    P("state", Str),
    P("checksum", Str),
    P("failure_reason", Str),
    P("output", Hash),
    P("exit_code", Int),
]
_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def ruby_to_i(text: str) -> int:
    """Ruby's `String#to_i`: the leading integer, 0 when there is none."""
    m = _LEADING_INT.match(text)
    return int(m.group(1)) if m else 0


def _text(status: int, headers: dict[str, str] | None = None) -> Response:
    """GitLab answers PUT with the status code as the body."""
    resp = Response(status, str(status).encode(), [("Content-Type", "application/json")])
    for name, value in (headers or {}).items():
        resp.set_header(name, value)
    return resp


def register(router: Router, app: Coordinator) -> None:
    store = app.store
    service = app.jobs

    def authenticate_job(job_id: int, token: str, ip: str) -> Job:
        """`authenticate_job!(heartbeat_runner: true)` with GitLab's exact 403 answers."""
        # The read and the heartbeat in one transaction (one BEGIN/COMMIT, not two).
        with store.transaction():
            return _authenticate_job(job_id, token, ip)

    def _authenticate_job(job_id: int, token: str, ip: str) -> Job:
        job = service.jobs.job_by_id(job_id)
        if job is None or not token or not hmac.compare_digest(token, job.token):
            raise forbidden()
        if job.status not in EXECUTING:
            raise HttpError(message(403, "403 Forbidden - Job is not processing on runner",
                                    {"Job-Status": job.status}))
        # `job.runner&.heartbeat`: the runner may have been deleted meanwhile.
        if job.runner_id is not None:
            store.job_heartbeat(job.runner_id, ip_address=ip, system_xid=job.system_xid)
        return job

    def job_token(req: Request, params: dict[str, Any]) -> str:
        value = params.get("token")
        if isinstance(value, str) and value:
            return value
        return req.header("job-token") or ""

    def workhorse_hold(req: Request) -> Response | None:
        """Workhorse's long poll: hold while the runner's queue value equals `last_update`.

        Returns the bare 204 of an expired hold; None to go on to the API (first request, stale
        value, or a change while held — then the runner gets the job in the same answer).
        """
        body = req.json_body()
        if not isinstance(body, dict):
            return None
        token, last_update = body.get("token"), body.get("last_update")
        if not (isinstance(token, str) and token and isinstance(last_update, str) and last_update):
            return None
        runner = store.runner_by_token(token)
        if runner is None or service.queues.current(runner.id) != last_update:
            return None
        if service.queues.wait_for_change(runner.id, last_update,
                                          service.options.long_poll_timeout):
            return None
        return no_content()

    def request_job(req: Request) -> Response:
        if service.options.long_poll_timeout > 0:
            held = workhorse_hold(req)
            if held is not None:
                return held
        p = declared(req.params, _REQUEST_PARAMS)
        runner = app.authenticate_runner(p["token"])
        system_xid = p.get("system_id") or LEGACY_SYSTEM_XID
        info = p.get("info") or {}
        manager = store.heartbeat(runner.id, ip_address=req.client_ip, system_xid=system_xid,
                                  info=manager_info(info), creation_finished=True)
        if not runner.active:
            return no_content({"X-GitLab-Last-Update": service.queues.ensure(runner.id)})
        last_update = p.get("last_update")
        if last_update and service.queues.ensure(runner.id) == last_update:
            return no_content({"X-GitLab-Last-Update": last_update})
        new_update = service.queues.ensure(runner.id)
        features = info.get("features") if isinstance(info.get("features"), dict) else {}
        pick = service.pick(runner, manager.id if manager else None, system_xid, features or {})
        if pick.job is not None:
            session = p.get("session") or {}
            session_url = session.get("url") if isinstance(session.get("url"), str) else None
            return json_response(201, service.payload(pick.job, runner, app.external_url(req),
                                                      session_url))
        if pick.incomplete:
            return message(409, "409 Conflict")
        return no_content({"X-GitLab-Last-Update": new_update})

    @router.route("POST", r"/api/v4/jobs/request")
    def request_route(req: Request) -> Response:
        response = request_job(req)
        if service.options.long_poll_timeout > 0:
            response.set_header("Gitlab-Ci-Builds-Polling", "yes")
        return response

    @router.route("PUT", r"/api/v4/jobs/(?P<id>[^/]+)")
    def update_job(req: Request) -> Response:
        p = declared({**req.params, **req.path_params}, _UPDATE_PARAMS)
        output = p.get("output") or {}
        if p.get("state") == "running" and not (output.get("checksum") or p.get("checksum")):
            # The common "still running" update touches nothing but the job and its runner
            # (no finish listeners): authentication, heartbeat and update in one transaction.
            with store.transaction():
                job = authenticate_job(p["id"], job_token(req, p), req.client_ip)
                status, backoff = service.update_state(job, p)
        else:
            job = authenticate_job(p["id"], job_token(req, p), req.client_ip)
            status, backoff = service.update_state(job, p)
        job_status = job.status
        if p.get("state") != "running":
            # Only a final state changes the status here; a running update leaves it as read.
            after = service.jobs.job_by_id(job.id)
            job_status = after.status if after else job.status
        headers = {"Job-Status": job_status}
        if backoff is not None:
            headers["X-GitLab-Trace-Update-Interval"] = str(backoff)
        return _text(status, headers)

    @router.route("PATCH", r"/api/v4/jobs/(?P<id>[^/]+)/trace")
    def patch_trace(req: Request) -> Response:
        p = declared({**req.query, **req.path_params},
                     [P("id", Int, required=True), P("token", Str), P("debug_trace", Str)])
        job = authenticate_job(p["id"], job_token(req, p), req.client_ip)
        content_range = req.header("content-range")
        if content_range is None:
            return message(400, "400 Missing header Content-Range")
        start = ruby_to_i(content_range.split("-")[0]) if content_range else 0
        debug = str(p.get("debug_trace", "")).lower() == "true"
        status, size = service.append_trace(job, start, req.body, debug)
        if status == 403:
            return message(403, "403 Forbidden")
        if status == 416:
            return message(416, "416 Range Not Satisfiable", {"Range": f"0-{size}"})
        # Appending leaves the status as authenticate_job read it (the size limit answered 403).
        interval = str(service.options.trace_update_interval)
        resp = Response(202, interval.encode(), [("Content-Type", "application/json")])
        resp.set_header("Job-Status", job.status)
        resp.set_header("Range", f"0-{size}")
        resp.set_header("X-GitLab-Trace-Update-Interval", interval)
        return resp
