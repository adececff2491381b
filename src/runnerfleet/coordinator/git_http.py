"""Git smart HTTP for project repositories, served by the real `git http-backend` (CGI).

Authentication as GitLab: HTTP Basic `gitlab-ci-token:<job token>` (a running or canceling
job of that project; read only) or `<username>:<PAT>` (the admin may also push). Anonymous
requests get 401 with `WWW-Authenticate: Basic realm="GitLab"`, which makes git send the
credentials from the URL.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runnerfleet.coordinator.job_store import EXECUTING
from runnerfleet.coordinator.payload import CI_USER
from runnerfleet.coordinator.web import Request, Response, Router

if TYPE_CHECKING:
    from runnerfleet.coordinator.app import Coordinator

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
_GIT_PATH = r"/(?P<path>.+?)\.git/(?P<rest>info/refs|git-upload-pack|git-receive-pack)"
_ACCESS_DENIED = (
    "HTTP Basic: Access denied. If a password was provided for Git authentication, the password"
    " was incorrect or you're required to use a token instead of a password. If a token was"
    " provided, it was either incorrect, expired, or improperly scoped.\n"
)
_NOT_FOUND = ("The project you were looking for could not be found or you don't have permission"
              " to view it.\n")
# CGI variables the backend needs besides HTTP_*; the rest of our environment stays out.
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


@dataclass
class _Access:
    username: str
    project_id: int | None  # None: any project (admin)
    can_push: bool


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    resp = Response(status, body.encode(), [("Content-Type", "text/plain; charset=utf-8")])
    for name, value in (headers or {}).items():
        resp.set_header(name, value)
    return resp


def _unauthorized() -> Response:
    return _text(401, _ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'})


def _basic_credentials(req: Request) -> tuple[str, str] | None:
    scheme, _, value = (req.header("authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def run_http_backend(req: Request, project_root: str, path_info: str, remote_user: str) -> Response:
    """Run `git http-backend` for one request and turn its CGI answer into a Response."""
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update({
        "GIT_PROJECT_ROOT": project_root,
        "GIT_HTTP_EXPORT_ALL": "1",
        # The repositories belong to us, but be explicit so no ownership check can refuse them.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": req.method,
        "PATH_INFO": path_info,
        "QUERY_STRING": req.query_string,
        "REMOTE_USER": remote_user,
        "REMOTE_ADDR": req.client_ip,
        "CONTENT_LENGTH": str(len(req.body)),
        "CONTENT_TYPE": req.header("content-type") or "",
    })
    for name, value in req.headers.items():
        if name in ("content-length", "content-type", "authorization", "transfer-encoding"):
            continue
        env["HTTP_" + name.upper().replace("-", "_")] = value
    proc = subprocess.run([HTTP_BACKEND], input=req.body, capture_output=True, env=env,
                          timeout=600, check=False)
    head, sep, body = proc.stdout.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = proc.stdout.partition(b"\n\n")
    if not sep:
        return _text(500, "git http-backend failed\n")
    status = 200
    headers: list[tuple[str, str]] = []
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split(" ")[0])
        elif name:
            headers.append((name.strip(), value.strip()))
    return Response(status, body, headers)


def register(router: Router, app: Coordinator) -> None:
    service = app.jobs

    def access_for(req: Request) -> _Access | Response:
        credentials = _basic_credentials(req)
        if credentials is None:
            return _unauthorized()
        user, password = credentials
        if user == CI_USER:
            job = service.jobs.job_by_token(password)
            if job is None or job.status not in EXECUTING or not hmac.compare_digest(
                    password, job.token):
                return _unauthorized()
            return _Access(CI_USER, job.project_id, can_push=False)
        owner = app.store.user_for_personal_access_token(password)
        if owner is None or owner["username"] != user:
            return _unauthorized()
        if not owner["admin"]:
            return _text(404, _NOT_FOUND)
        return _Access(user, None, can_push=True)

    def serve(req: Request) -> Response:
        path, rest = req.path_params["path"], req.path_params["rest"]
        access = access_for(req)
        if isinstance(access, Response):
            return access
        project = service.jobs.project_by_path(path)
        if project is None or access.project_id not in (None, project.id):
            return _text(404, _NOT_FOUND)
        service_name = req.query.get("service") if rest == "info/refs" else rest
        if service_name == "git-receive-pack" and not access.can_push:
            return _text(403, "You are not allowed to upload code.\n")
        if not service.repo_dir(project).exists():
            return _text(404, _NOT_FOUND)
        return run_http_backend(req, str(service.repos_root), f"/{path}.git/{rest}",
                                access.username)

    router.add("GET", _GIT_PATH, serve)
    router.add("POST", _GIT_PATH, serve)
