"""Request/response objects, the routing table and GitLab-shaped JSON answers."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runnerfleet.coordinator.params import InvalidParams


class BodyStream(Protocol):
    """A request body read as it arrives (routes that stream, e.g. artifact uploads)."""

    def read(self, size: int = -1, /) -> bytes: ...


class HttpError(Exception):
    """Raised by a handler to answer at once with `response`."""

    def __init__(self, response: Response) -> None:
        self.response = response
        super().__init__(response.status)


_UNPARSED = object()  # Request._json before the body was parsed
_INVALID = object()  # ... after it failed to parse


@dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: dict[str, str]  # lowercased names
    body: bytes
    client_ip: str
    path_params: dict[str, str] = field(default_factory=dict)
    _params: dict[str, Any] | None = None
    _json: Any = field(default=_UNPARSED, repr=False)
    # Set instead of `body` for routes the app streams (`Coordinator.streams_body`).
    stream: BodyStream | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def query(self) -> dict[str, Any]:
        return _form_to_dict(self.query_string)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json_body(self) -> Any:
        """The parsed JSON body, or None when the body is not JSON (or not parseable)."""
        if not self.body or "json" not in self.content_type:
            return None
        try:
            return self._parsed_json()
        except ValueError:
            return None

    def _parsed_json(self) -> Any:
        # Parsed once per request: the long-poll check and `params` both read the body.
        # Callers only read what they get (params copies the top level).
        if self._json is _UNPARSED:
            try:
                self._json = json.loads(self.body)
            except ValueError:
                self._json = _INVALID
        if self._json is _INVALID:
            raise ValueError("the body is not valid JSON")
        return self._json

    @property
    def params(self) -> dict[str, Any]:
        """Query parameters merged with the body (JSON or form), as Grape merges them.

        A JSON body that does not parse answers 400 like Grape does.
        """
        if self._params is None:
            merged = dict(self.query)
            if self.body:
                if "json" in self.content_type:
                    try:
                        parsed = self._parsed_json()
                    except ValueError:
                        raise HttpError(
                            error(400, "message body does not match declared format")
                        ) from None
                    if isinstance(parsed, dict):
                        merged.update(parsed)
                elif self.content_type == "application/x-www-form-urlencoded":
                    merged.update(_form_to_dict(self.body.decode("utf-8", "replace")))
            self._params = merged
        return self._params


def _form_to_dict(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        if key.endswith("[]"):
            existing = out.setdefault(key[:-2], [])
            if isinstance(existing, list):
                existing.append(value)
        else:
            out[key] = value
    return out


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Sent from disk in blocks instead of `body` (artifact downloads).
    file_path: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    resp = Response(status, body, [("Content-Type", "application/json")])
    for name, value in (headers or {}).items():
        resp.set_header(name, value)
    return resp


def message(status: int, text: Any, headers: dict[str, str] | None = None) -> Response:
    """GitLab's `render_api_error!`: `{"message": ...}`."""
    return json_response(status, {"message": text}, headers)


def error(status: int, text: str) -> Response:
    """Grape's own errors (validation, routing): `{"error": ...}`."""
    return json_response(status, {"error": text})


def with_reason(status: int, prefix: str, reason: str | None) -> Response:
    """`render_api_error_with_reason!`: "403 Forbidden - <reason>"."""
    return message(status, f"{prefix} - {reason}" if reason else prefix)


def forbidden(reason: str | None = None) -> HttpError:
    return HttpError(with_reason(403, "403 Forbidden", reason))


def bad_request(reason: str | None = None) -> HttpError:
    return HttpError(with_reason(400, "400 Bad request", reason))


def not_found(resource: str | None = None) -> HttpError:
    """`not_found!('Runner')` → "404 Runner Not Found"; bare → "404 Not Found"."""
    return HttpError(message(404, f"404 {resource} Not Found" if resource else "404 Not Found"))


def unauthorized() -> HttpError:
    return HttpError(message(401, "401 Unauthorized"))


def no_content(headers: dict[str, str] | None = None) -> Response:
    return Response(204, b"", list((headers or {}).items()))


Handler = Callable[[Request], Response]


class Router:
    """A table of `(method, regex) → handler`; the first full match wins."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return decorate

    def dispatch(self, request: Request) -> Response:
        for method, regex, handler in self._routes:
            if method != request.method:
                continue
            m = regex.fullmatch(request.path)
            if m is None:
                continue
            request.path_params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            try:
                return handler(request)
            except HttpError as exc:
                return exc.response
            except InvalidParams as exc:
                return error(400, str(exc))
        # Grape's catch-all route in GitLab's API answers this for anything unknown.
        return error(404, "404 Not Found")
