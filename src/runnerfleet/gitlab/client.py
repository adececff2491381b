"""GitLabClient: the one HTTP client to GitLab's runner API (request core plus typed calls)."""

from __future__ import annotations

import json as jsonlib
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

# httpx imports its own command line (click, rich: ~45 ms) whenever those are installed; no
# runnerfleet command uses it. Marking it absent makes httpx define its stub `main` instead.
# Here, before the engine's first `import httpx` (this module, loaded with the package, comes
# first in every entry point), so it holds for every command, not only those of the CLI.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from runnerfleet import version  # noqa: E402
from runnerfleet.errors import ApiError, TransportError  # noqa: E402
from runnerfleet.gitlab.models import (  # noqa: E402
    RunnerRegistration,
    TLSSettings,
    TokenReset,
    parse_expiry,
)
from runnerfleet.gitlab.ratelimit import send_with_rate_limit  # noqa: E402
from runnerfleet.gitlab.transport import Transport  # noqa: E402
from runnerfleet.tokens import shorten_token  # noqa: E402

log = logging.getLogger("runnerfleet.gitlab")

Hints = Mapping[int, str]

_SERVER_ERROR_HINT = "GitLab had an internal problem; retry later"


def api_base_url(url: str) -> str:
    """gitlab-runner's URL rule: drop trailing `/` and `/ci`, append `/api/v4/`; http(s) only."""
    fixed = url.strip().rstrip("/")
    fixed = fixed.removesuffix("/ci")
    try:
        parts = urlsplit(fixed)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise TransportError(
            f"GitLab URL {url!r} is not usable: only http:// and https:// URLs with a host are "
            "supported; use e.g. https://gitlab.example.com/",
            url=url,
        )
    return fixed + "/api/v4/"


def _flatten_message(value: Any) -> str:
    # Grape validation errors are {"field": ["e1", "e2"]}; gitlab-runner shows "field: e1; e2".
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        parts = []
        for key, errors in value.items():
            items = errors if isinstance(errors, list) else [errors]
            parts.append(f"{key}: {'; '.join(_flatten_message(e) for e in items)}")
        return ", ".join(parts)
    if isinstance(value, list):
        return "; ".join(_flatten_message(v) for v in value)
    return "" if value is None else str(value)


def gitlab_message(response: httpx.Response) -> str:
    """GitLab's explanation in an error answer: `message` or `error`, else the first text line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        for key in ("message", "error"):
            if body.get(key):
                return _flatten_message(body[key])
        return ""
    text = response.text.strip()
    if not text or text.lstrip().startswith("<"):
        return ""  # an HTML error page from a proxy says nothing useful in one line
    return text.splitlines()[0][:200]


def _is_json(response: httpx.Response) -> bool:
    media = str(response.headers.get("content-type", "")).split(";", 1)[0].strip().lower()
    return media == "application/json"


def _runner_attributes(
    description: str,
    maintenance_note: str,
    tag_list: Sequence[str],
    run_untagged: bool,
    locked: bool,
    access_level: str,
    maximum_timeout: int,
    paused: bool,
) -> dict[str, Any]:
    """A runner's attributes as gitlab-runner sends them: empty values left out, booleans always."""
    body: dict[str, Any] = {}
    if description:
        body["description"] = description
    if maintenance_note:
        body["maintenance_note"] = maintenance_note
    if tag_list:
        body["tag_list"] = ",".join(tag_list)
    body["run_untagged"] = run_untagged
    body["locked"] = locked
    if access_level:
        body["access_level"] = access_level
    if maximum_timeout:
        body["maximum_timeout"] = maximum_timeout
    body["paused"] = paused
    return body


ATTEMPTS_EXTENSION = "runnerfleet.attempts"


def attempts_of(response: httpx.Response) -> int:
    """How many times `GitLabClient.request` sent the call that produced this answer."""
    return int(response.extensions.get(ATTEMPTS_EXTENSION, 1))


class GitLabClient:
    """Talks to one GitLab instance's `/api/v4/` like gitlab-runner's network client."""

    def __init__(
        self,
        url: str,
        *,
        tls: TLSSettings | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.base_url = api_base_url(url)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep or time.sleep
        self._transport = Transport(
            self.base_url,
            tls=tls or TLSSettings(),
            env=os.environ if env is None else env,
            timeout=timeout,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> GitLabClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; the client cannot be used afterwards."""
        self._transport.close()

    @property
    def proxy_url_masked(self) -> str | None:
        """The proxy used for this GitLab (password as `***`), or None when connecting directly."""
        proxy = self._transport.proxy
        return proxy.masked if proxy else None

    @property
    def proxy_source(self) -> str | None:
        """The environment variable the proxy came from (`HTTPS_PROXY`, `http_proxy`, ...)."""
        proxy = self._transport.proxy
        return proxy.source if proxy else None

    @property
    def tls_ca_file(self) -> Path | None:
        """The CA file added to the system store for this host, if one was found."""
        return self._transport.files.ca_used

    # -- core --------------------------------------------------------------------------------

    def endpoint_url(self, path: str) -> str:
        """The absolute URL of an API path such as `runners/verify` or `/jobs/12/trace`."""
        return self.base_url + path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one API call (429s handled as gitlab-runner ≤ 18.2); return the final answer."""
        method = method.upper()
        url = self.endpoint_url(path)
        request_id = uuid.uuid4().hex
        all_headers = {"User-Agent": version.user_agent(), "X-Request-Id": request_id}
        body = content
        if json is not None:
            body = jsonlib.dumps(json).encode()
            all_headers["Content-Type"] = "application/json"
            all_headers["Accept"] = "application/json"
        if headers:
            all_headers.update(headers)

        attempts = 0

        def send() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            # The body bytes are sent again on every attempt.
            return self._transport.send(
                method, url, headers=all_headers, content=body, params=params
            )

        response = send_with_rate_limit(
            send, method=method, url=url, clock=self._clock, sleep=self._sleep
        )
        # Adaptive request concurrency needs to know whether the 429 loop repeated the call.
        response.extensions[ATTEMPTS_EXTENSION] = attempts
        log.debug(
            "%s %s -> %d (X-Request-Id %s)",
            method, url, response.status_code, response.headers.get("x-request-id", request_id),
        )
        return response

    # -- helpers for typed calls -------------------------------------------------------------

    def api_error(
        self, response: httpx.Response, method: str, path: str, hints: Hints
    ) -> ApiError:
        url = self.endpoint_url(path)
        status = response.status_code
        api_message = gitlab_message(response)
        line = f"{method} {url}: GitLab answered {status} {response.reason_phrase}".rstrip()
        if api_message:
            line += f" ({api_message})"
        hint = hints.get(status)
        if hint is None and status >= 500:
            hint = _SERVER_ERROR_HINT
        if status == 429:
            retry_after = response.headers.get("retry-after")
            hint = "rate limited: retry " + (
                f"after {retry_after} s (Retry-After)" if retry_after else "later"
            )
        if hint:
            line += f"; {hint}"
        return ApiError(
            line,
            method=method,
            endpoint=url,
            status=status,
            api_message=api_message,
            request_id=response.headers.get("x-request-id", ""),
        )

    def _not_json(self, response: httpx.Response, method: str, path: str, what: str) -> ApiError:
        url = self.endpoint_url(path)
        ctype = response.headers.get("content-type", "none")
        return ApiError(
            f"{method} {url}: GitLab answered {response.status_code} but {what} "
            f"(Content-Type {ctype}); check that the URL points at GitLab, not at a proxy or "
            "another web server",
            method=method,
            endpoint=url,
            status=response.status_code,
            request_id=response.headers.get("x-request-id", ""),
        )

    def _json_call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        hints: Hints,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        response = self.request(method, path, json=json, headers=headers)
        if response.status_code != expect:
            raise self.api_error(response, method, path, hints)
        return self._decode_object(response, method, path)

    def _decode_object(self, response: httpx.Response, method: str, path: str) -> dict[str, Any]:
        if not _is_json(response):
            raise self._not_json(response, method, path, "not with JSON")
        try:
            body = response.json()
        except ValueError:
            raise self._not_json(response, method, path, "its JSON is malformed") from None
        if not isinstance(body, dict):
            raise self._not_json(response, method, path, "its JSON is not an object")
        return body

    def _registration(
        self, body: Mapping[str, Any], method: str, path: str
    ) -> RunnerRegistration:
        runner_id = body.get("id")
        token = body.get("token")
        if not isinstance(runner_id, int) or isinstance(runner_id, bool) or not isinstance(
            token, str
        ) or not token:
            raise ApiError(
                f"{method} {self.endpoint_url(path)}: GitLab's answer lacks a numeric `id` or a "
                "`token`; is this GitLab's runner API?",
                method=method,
                endpoint=self.endpoint_url(path),
                status=200,
            )
        return RunnerRegistration(
            id=runner_id,
            token=token,
            token_expires_at=self._expiry(body, method, path),
        )

    def _expiry(self, body: Mapping[str, Any], method: str, path: str) -> datetime | None:
        value = body.get("token_expires_at")
        if value is None:
            return None
        try:
            return parse_expiry(value)
        except ValueError:
            raise ApiError(
                f"{method} {self.endpoint_url(path)}: GitLab's token_expires_at {value!r} is not "
                "an ISO-8601 timestamp",
                method=method,
                endpoint=self.endpoint_url(path),
            ) from None

    @staticmethod
    def _runner_headers(token: str) -> dict[str, str]:
        return {"RUNNER-TOKEN": token}

    # -- typed calls -------------------------------------------------------------------------

    def register_runner(
        self,
        registration_token: str,
        *,
        description: str = "",
        tag_list: Sequence[str] = (),
        run_untagged: bool = False,
        locked: bool = True,
        access_level: str = "",
        maximum_timeout: int = 0,
        paused: bool = False,
        maintenance_note: str = "",
        info: Mapping[str, Any] | None = None,
    ) -> RunnerRegistration:
        """Legacy `POST /runners` with a registration token (gitlab-runner `register`)."""
        body: dict[str, Any] = {
            "token": registration_token,
            **_runner_attributes(description, maintenance_note, tag_list, run_untagged, locked,
                                 access_level, maximum_timeout, paused),
        }
        if info is not None:
            body["info"] = dict(info)
        hints = {
            403: "check the registration token",
            410: "registration tokens are disabled on this GitLab: create the runner in GitLab "
            "(UI or POST /user/runners) and register with its glrt- token (--token)",
            400: "check the registration parameters named above",
        }
        data = self._json_call(
            "POST", "runners", expect=201, hints=hints, json=body,
            headers=self._runner_headers(registration_token),
        )
        return self._registration(data, "POST", "runners")

    def create_runner(
        self,
        pat: str,
        *,
        runner_type: str = "instance_type",
        group_id: int | None = None,
        project_id: int | None = None,
        description: str = "",
        tag_list: Sequence[str] = (),
        run_untagged: bool = True,
        locked: bool = False,
        access_level: str = "",
        maximum_timeout: int = 0,
        paused: bool = False,
        maintenance_note: str = "",
    ) -> RunnerRegistration:
        """`POST /user/runners` with a personal access token: a new runner and its glrt- token."""
        body: dict[str, Any] = {"runner_type": runner_type}
        if group_id is not None:
            body["group_id"] = group_id
        if project_id is not None:
            body["project_id"] = project_id
        body.update(_runner_attributes(description, maintenance_note, tag_list, run_untagged, locked,
                                       access_level, maximum_timeout, paused))
        hints = {
            401: "check the personal access token",
            403: "the personal access token needs the create_runner (or api) scope and the "
            f"right to create {runner_type} runners",
            400: "check the runner parameters named above",
        }
        data = self._json_call(
            "POST", "user/runners", expect=201, hints=hints, json=body,
            headers={"PRIVATE-TOKEN": pat},
        )
        return self._registration(data, "POST", "user/runners")

    def verify_runner(
        self, token: str, *, system_id: str, info: Mapping[str, Any] | None = None
    ) -> RunnerRegistration:
        """`POST /runners/verify`: is this runner token valid? Creates the runner manager."""
        body: dict[str, Any] = {"token": token, "system_id": system_id}
        if info is not None:
            body["info"] = dict(info)
        hints = {
            403: f"the runner token {shorten_token(token)}… is not valid (unknown or deleted); "
            "register the runner again",
        }
        response = self.request(
            "POST", "runners/verify", json=body, headers=self._runner_headers(token)
        )
        if response.status_code != 200:
            raise self.api_error(response, "POST", "runners/verify", hints)
        if response.text.strip() in ("", "200"):
            # GitLab ≤ 16.0 answered a bare `200`: the token is valid, nothing else is known.
            return RunnerRegistration(id=0, token=token, token_expires_at=None)
        data = self._decode_object(response, "POST", "runners/verify")
        return self._registration(data, "POST", "runners/verify")

    def unregister_runner(self, token: str) -> None:
        """`DELETE /runners`: delete the runner (and all its managers) from GitLab."""
        self._expect_no_content(
            "runners",
            {"token": token},
            token,
            {403: f"the runner token {shorten_token(token)}… is not known to GitLab "
             "(already unregistered?)"},
        )

    def unregister_runner_manager(self, token: str, system_id: str) -> None:
        """`DELETE /runners/managers`: forget this host's manager, keep the runner."""
        short = shorten_token(token)
        self._expect_no_content(
            "runners/managers",
            {"token": token, "system_id": system_id},
            token,
            {
                403: f"the runner token {short}… is not known to GitLab",
                404: f"GitLab has no manager with system_id {system_id} for runner {short}…",
            },
        )

    def _expect_no_content(
        self, path: str, body: Mapping[str, Any], token: str, hints: Hints
    ) -> None:
        response = self.request("DELETE", path, json=dict(body), headers=self._runner_headers(token))
        if response.status_code != 204:
            raise self.api_error(response, "DELETE", path, hints)

    def reset_token(self, token: str) -> TokenReset:
        """`POST /runners/reset_authentication_token`: a new token; the old one dies at once."""
        path = "runners/reset_authentication_token"
        hints = {403: f"the runner token {shorten_token(token)}… is not valid; register again"}
        data = self._json_call(
            "POST", path, expect=201, hints=hints, json={"token": token},
            headers=self._runner_headers(token),
        )
        return self._token_reset(data, path)

    def reset_token_with_pat(self, runner_id: int, pat: str) -> TokenReset:
        """`POST /runners/:id/reset_authentication_token` authorised by a personal access token."""
        path = f"runners/{runner_id}/reset_authentication_token"
        hints = {
            401: "check the personal access token",
            403: f"the personal access token may not manage runner {runner_id}",
            404: f"GitLab has no runner with id {runner_id}",
        }
        data = self._json_call(
            "POST", path, expect=201, hints=hints, headers={"PRIVATE-TOKEN": pat}
        )
        return self._token_reset(data, path)

    def _token_reset(self, data: Mapping[str, Any], path: str) -> TokenReset:
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(
                f"POST {self.endpoint_url(path)}: GitLab's answer lacks the new `token`",
                method="POST",
                endpoint=self.endpoint_url(path),
                status=201,
            )
        return TokenReset(token=token, token_expires_at=self._expiry(data, "POST", path))
