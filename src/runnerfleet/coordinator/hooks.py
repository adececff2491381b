"""Test hooks: injected faults and the log of received API requests (secrets masked)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from runnerfleet.coordinator.tokens import shorten_token
from runnerfleet.coordinator.web import Request, Response

REQUEST_LOG_SIZE = 1000
_TOKEN_HEADERS = {"private-token", "runner-token", "job-token"}
_SECRET_KEYS = {"token", "private_token", "job_token", "password", "authorization"}


@dataclass
class Fault:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: str
    content_type: str
    count: int
    kind: str = "status"  # "status": answer with this; "drop": close without answer;
    # "delay": wait `seconds`, then answer normally
    seconds: float = 0.0
    after_body: bool = False  # drop only after reading the request body

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and self.path == path

    def response(self) -> Response:
        resp = Response(self.status, self.body.encode("utf-8"))
        if self.content_type and self.status != 204:
            resp.set_header("Content-Type", self.content_type)
        for name, value in self.headers.items():
            resp.set_header(name, value)
        return resp


class Faults:
    """Answers to hand out instead of the real ones, each for its next `count` matches."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counted as used; None when no fault matches."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


def mask_header(name: str, value: str) -> str:
    if name in _TOKEN_HEADERS:
        return shorten_token(value)
    if name == "authorization":
        scheme, _, credential = value.partition(" ")
        if scheme.lower() == "bearer":
            return f"{scheme} {shorten_token(credential)}"
        return f"{scheme} [MASKED]"
    return value


def mask_json(value: Any) -> Any:
    """A copy of a JSON value with secret-bearing fields shortened."""
    if isinstance(value, dict):
        return {
            k: (shorten_token(v) if k in _SECRET_KEYS and isinstance(v, str) else mask_json(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    return value


class _Recorded(NamedTuple):
    """What `RequestLog.record` keeps of one request, turned into its log entry on demand."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    json_body: bytes
    status: int | None
    at: float
    request_id: str | None

    def entry(self) -> dict[str, Any]:
        request = Request(self.method, self.path, self.query_string, self.headers,
                          self.json_body, "")
        query = {
            k: (shorten_token(v) if k in _SECRET_KEYS and isinstance(v, str) else v)
            for k, v in request.query.items()
        }
        stamp = datetime.fromtimestamp(self.at, tz=UTC)
        return {
            "method": self.method,
            "path": self.path,
            "query": query,
            "status": self.status,
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "headers": {k: mask_header(k, v) for k, v in self.headers.items()},
            "json": mask_json(request.json_body()),
            "request_id": self.request_id,
        }


class RequestLog:
    """The last REQUEST_LOG_SIZE API requests, oldest first.

    `record` runs on every API request and only keeps references (the body only when it is
    JSON: never a trace chunk); masking, JSON parsing and time formatting happen in `entries`,
    which tests and benchmarks call rarely.
    """

    def __init__(self) -> None:
        self._entries: deque[_Recorded] = deque(maxlen=REQUEST_LOG_SIZE)
        self._lock = threading.Lock()

    def record(self, request: Request, response: Response | None) -> None:
        """Log one API request; `response` None means the connection was dropped (a fault)."""
        recorded = _Recorded(
            request.method, request.path, request.query_string, dict(request.headers),
            request.body if request.body and "json" in request.content_type else b"",
            response.status if response is not None else None, time.time(),
            response.header("X-Request-Id") if response is not None else None,
        )
        with self._lock:
            self._entries.append(recorded)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            recorded = list(self._entries)
        return [r.entry() for r in recorded]
