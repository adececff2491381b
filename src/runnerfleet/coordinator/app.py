"""The coordinator application: state, authentication helpers and the per-request pipeline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from runnerfleet.coordinator.hooks import Fault, Faults, RequestLog
from runnerfleet.coordinator.jobs import DEFAULT_PROJECT, JobOptions, JobService
from runnerfleet.coordinator.ratelimit import RateLimiter, throttled_response
from runnerfleet.coordinator.store import Runner, Store
from runnerfleet.coordinator.tokens import new_request_id
from runnerfleet.coordinator.web import (
    HttpError,
    Request,
    Response,
    Router,
    forbidden,
    message,
    unauthorized,
)

API_PREFIX = "/api/v4/"
HOOKS_PREFIX = "/-/"
_CREDENTIAL_HEADERS = ("private-token", "authorization", "job-token", "runner-token")

# Which admin setting sets the token lifetime of each runner type.
_EXPIRATION_SETTING = {
    "instance_type": "runner_token_expiration_interval",
    "group_type": "group_runner_token_expiration_interval",
    "project_type": "project_runner_token_expiration_interval",
}


class Coordinator:
    """Everything a handler needs; API modules register their routes on `router`."""

    def __init__(self, data_dir: Path, *, rate_limit: int = 0, rate_limit_period: int = 60,
                 job_options: JobOptions | None = None, external_url: str | None = None,
                 default_project: bool = True) -> None:
        self.store = Store(data_dir)
        self.admin_token, self.registration_token = self.store.ensure_instance_credentials()
        self.faults = Faults()
        self.request_log = RequestLog()
        self.limiter = RateLimiter(rate_limit, rate_limit_period) if rate_limit > 0 else None
        self.jobs = JobService(self.store, data_dir, job_options or JobOptions())
        if default_project:  # `runnerfleet exec` creates its own project instead
            self.jobs.ensure_project(DEFAULT_PROJECT)
        # Set by the server once it listens; answers fall back to the request's Host header.
        self.base_url = external_url
        self.router = Router()
        # Imported here: the API modules import this one for the type of `app`.
        from runnerfleet.coordinator import (
            admin_api,
            git_http,
            hooks_api,
            jobs_admin_api,
            jobs_api,
            pipelines_api,
            runners_api,
        )
        from runnerfleet.coordinator.artifacts_api import STREAMED_ROUTES
        from runnerfleet.coordinator.artifacts_api import register as register_artifacts

        runners_api.register(self.router, self)
        jobs_api.register(self.router, self)
        admin_api.register(self.router, self)
        hooks_api.register(self.router, self)
        jobs_admin_api.register(self.router, self)
        git_http.register(self.router, self)
        register_artifacts(self.router, self)
        self.pipelines = pipelines_api.register(self.router, self)
        self._streamed_routes = STREAMED_ROUTES
        self.jobs.start_housekeeping()

    def close(self) -> None:
        self.pipelines.close()  # its scheduler thread writes to the store
        self.jobs.close()
        self.store.close()

    def external_url(self, request: Request) -> str:
        """GitLab's external URL: the configured one, else what the client connected to."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"http://{request.header('host') or '127.0.0.1'}"

    def streams_body(self, method: str, path: str) -> bool:
        """Whether this request's body goes to its handler as a stream (large uploads)."""
        return any(m == method and rx.fullmatch(path) for m, rx in self._streamed_routes)

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The injected fault for an API request, if any (test hooks are never faulted)."""
        if not path.startswith(API_PREFIX):
            return None
        return self.faults.take(method, path)

    # -- pipeline ------------------------------------------------------------------------------

    def handle(self, request: Request, *, fault: Fault | None = None,
               faults_checked: bool = False) -> Response:
        """Faults, throttle, route; then `X-Request-Id` and the request log for API calls.

        The server takes the fault itself (before reading the body, for drops) and passes it
        with `faults_checked`; only "status" faults reach this point.
        """
        is_api = request.path.startswith(API_PREFIX)
        response: Response | None = None
        throttle_headers: dict[str, str] = {}
        if is_api:
            if not faults_checked:
                fault = self.faults.take(request.method, request.path)
            if fault is not None and fault.kind == "status":
                response = fault.response()
            if response is None and self.limiter is not None:
                result = self.limiter.check(request.client_ip, self._throttle_name(request))
                throttle_headers = result.headers
                if result.throttled:
                    response = throttled_response(result.headers)
        if response is None:
            try:
                response = self.router.dispatch(request)
            except HttpError as exc:
                response = exc.response
            for name, value in throttle_headers.items():
                response.set_header(name, value)
        response.set_header("X-Request-Id", new_request_id())
        if is_api:
            self.request_log.record(request, response)
        return response

    @staticmethod
    def _throttle_name(request: Request) -> str:
        has_credentials = any(request.header(h) for h in _CREDENTIAL_HEADERS) or any(
            k in request.query for k in ("private_token", "job_token", "token")
        )
        if has_credentials:
            return "throttle_authenticated_api"
        return "throttle_unauthenticated_api"

    # -- authentication ------------------------------------------------------------------------

    def current_user(self, request: Request) -> dict[str, Any] | None:
        """The user of the request's PAT (PRIVATE-TOKEN, Bearer, or `private_token`)."""
        token = request.header("private-token")
        if token is None:
            auth = request.header("authorization") or ""
            scheme, _, credential = auth.partition(" ")
            if scheme.lower() == "bearer" and credential:
                token = credential.strip()
        if token is None:
            value = request.query.get("private_token")
            token = value if isinstance(value, str) else None
        if not token:
            return None
        return self.store.user_for_personal_access_token(token)

    def require_admin(self, request: Request) -> dict[str, Any]:
        user = self.current_user(request)
        if user is None:
            raise unauthorized()
        if not user["admin"]:
            raise HttpError(message(403, "403 Forbidden"))
        return user

    def authenticate_runner(self, token: str) -> Runner:
        """`authenticate_runner!`: the token's runner, else 403 Forbidden."""
        runner = self.store.runner_by_token(token)
        if runner is None:
            raise forbidden()
        return runner

    def token_expires_at(self, runner_type: str) -> float | None:
        interval = self.store.get_setting(_EXPIRATION_SETTING[runner_type])
        if interval is None or int(interval) <= 0:
            return None
        return time.time() + int(interval)
