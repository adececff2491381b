"""Artifact endpoints of the runner API: `POST /jobs/:id/artifacts` and `GET /jobs/:id/artifacts`.

Upload (coordinator-api §10.1): job-token auth as for other job calls; query `artifact_type`
(default archive), `artifact_format` (default zip), `expire_in` (default the instance's 30 days);
the multipart `file` part is streamed to disk while its size is checked against
`max_artifacts_size` (413 `file size has reached maximum size limit`); 201 with body `201`,
also for a re-upload of the same content; 400 for a missing file, bad parameters or a different
artifact of the same type.

Download (§10.2): the token must belong to a running job (else 401) of the same project as the
requested job (else 403, as GitLab's default job-token scope); 404 when that job has no archive
or it expired; 200 streams the file (`direct_download` is accepted and ignored).

Admin: `PUT /-/artifacts/settings {"max_artifacts_size": MB, "default_artifacts_expire_in": text}`
and `GET /-/jobs/:id/artifacts` (the job's artifact records) with the admin PAT.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from runnerfleet.coordinator.artifact_store import (
    FILE_FORMATS,
    FILE_TYPES,
    SETTING_DEFAULT_EXPIRE_IN,
    SETTING_MAX_SIZE,
    DuplicateArtifact,
)
from runnerfleet.coordinator.expire_in import parse_expire_in
from runnerfleet.coordinator.job_store import EXECUTING, Job
from runnerfleet.coordinator.multipart import MultipartError, Part, boundary_of, read_form
from runnerfleet.coordinator.params import Int, P, Str, declared
from runnerfleet.coordinator.web import (
    HttpError,
    Request,
    Response,
    Router,
    error,
    forbidden,
    json_response,
    message,
    not_found,
    unauthorized,
)

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

UPLOAD_PATH = re.compile(r"/api/v4/jobs/(?P<id>[^/]+)/artifacts")
STREAMED_ROUTES = (("POST", UPLOAD_PATH),)


class _Upload:
    """The `file` part on its way to disk: size checked against the limit, SHA-256 computed."""

    def __init__(self, path: Path, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.size = 0
        self.filename = ""
        self.too_large = False
        self.digest = hashlib.sha256()
        self._handle: BinaryIO | None = None

    def sink(self, part: Part) -> Callable[[bytes], None]:
        if part.name != "file" or self._handle is not None:
            return lambda data: None  # other file parts (e.g. Workhorse's metadata) are not kept
        self.filename = part.filename or ""
        self._handle = self.path.open("wb")
        return self._write

    def _write(self, data: bytes) -> None:
        if self.too_large or self._handle is None:
            return
        self.size += len(data)
        if self.size > self.limit:
            # Keep reading (and dropping) the rest of the body, then answer 413.
            self.too_large = True
            self.close()
            return
        self.digest.update(data)
        self._handle.write(data)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _status_body(status: int) -> Response:
    return Response(status, str(status).encode(), [("Content-Type", "application/json")])


def register(router: Router, app: Coordinator) -> None:
    service = app.jobs
    artifacts = service.artifacts

    def job_token(req: Request) -> str:
        value = req.query.get("token")
        return value if isinstance(value, str) and value else (req.header("job-token") or "")

    def authenticate_job(job_id: int, token: str) -> Job:
        """`authenticate_job!` (no heartbeat): the job's own token while it runs."""
        job = service.jobs.job_by_id(job_id)
        if job is None or not token or not hmac.compare_digest(token, job.token):
            raise forbidden()
        if job.status not in EXECUTING:
            raise HttpError(message(403, "403 Forbidden - Job is not processing on runner",
                                    {"Job-Status": job.status}))
        return job

    @router.route("POST", UPLOAD_PATH.pattern)
    def upload(req: Request) -> Response:
        p = declared({**req.query, **req.path_params}, [
            P("id", Int, required=True), P("token", Str), P("expire_in", Str),
            P("artifact_type", Str), P("artifact_format", Str), P("accessibility", Str)])
        job = authenticate_job(p["id"], job_token(req))
        file_type = p.get("artifact_type") or "archive"
        file_format = p.get("artifact_format") or "zip"
        if file_type not in FILE_TYPES:
            return error(400, "artifact_type does not have a valid value")
        if file_format not in FILE_FORMATS:
            return error(400, "artifact_format does not have a valid value")
        boundary = boundary_of(req.header("content-type") or "")
        if boundary is None or req.stream is None:
            return error(400, "file is missing")
        upload = _Upload(artifacts.staging_file(job.id), artifacts.max_size())
        try:
            form = read_form(req.stream, boundary, upload.sink)
        except MultipartError as exc:
            upload.discard()
            return error(400, str(exc))
        finally:
            upload.close()
        if "file" not in form.files:
            upload.discard()
            return error(400, "file is missing")
        if upload.too_large:
            upload.discard()
            return message(413, "file size has reached maximum size limit")
        expire_in = p.get("expire_in") or artifacts.default_expire_in()
        seconds = parse_expire_in(expire_in)
        expire_at = None if seconds is None else time.time() + seconds
        try:
            artifacts.save(job.id, file_type, file_format, upload.filename, upload.path, upload.size,
                           upload.digest.hexdigest(), expire_at)
        except DuplicateArtifact as exc:
            return message(400, str(exc))
        return _status_body(201)

    @router.route("GET", UPLOAD_PATH.pattern)
    def download(req: Request) -> Response:
        p = declared({**req.query, **req.path_params},
                     [P("id", Int, required=True), P("token", Str), P("direct_download", Str)])
        token = job_token(req)
        consumer = service.jobs.job_by_token(token) if token else None
        if consumer is None or consumer.status not in EXECUTING:
            raise unauthorized()
        target = service.jobs.job_by_id(p["id"])
        if target is None or target.project_id != consumer.project_id:
            raise forbidden()
        archive = artifacts.available_archive(target.id)
        if archive is None:
            raise not_found()
        filename = archive.filename or "artifacts.zip"
        content_type = "application/zip" if archive.file_format == "zip" else "application/octet-stream"
        return Response(200, b"", [("Content-Type", content_type),
                                   ("Content-Disposition", f'attachment; filename="{filename}"')],
                        file_path=archive.path)

    @router.route("PUT", r"/-/artifacts/settings")
    def put_settings(req: Request) -> Response:
        app.require_admin(req)
        p = declared(req.params, [P(SETTING_MAX_SIZE, Int), P(SETTING_DEFAULT_EXPIRE_IN, Str)])
        for key, value in p.items():
            app.store.set_setting(key, value)
        return json_response(200, {SETTING_MAX_SIZE: artifacts.max_size() // (1024 * 1024),
                                   SETTING_DEFAULT_EXPIRE_IN: artifacts.default_expire_in()})

    @router.route("GET", r"/-/jobs/(?P<id>[^/]+)/artifacts")
    def list_artifacts(req: Request) -> Response:
        app.require_admin(req)
        p = declared(req.path_params, [P("id", Int, required=True)])
        if service.jobs.job_by_id(p["id"]) is None:
            raise not_found("Job")
        return json_response(200, [
            {"file_type": a.file_type, "file_format": a.file_format, "filename": a.filename,
             "size": a.size, "file_sha256": a.sha256, "expire_at": a.expire_at,
             "expired": a.expired()}
            for a in artifacts.for_job(p["id"])])
