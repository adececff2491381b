"""Per-client-IP request throttling answering like GitLab's Rack::Attack throttles."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

from runnerfleet.coordinator.web import Response


@dataclass
class ThrottleResult:
    throttled: bool
    headers: dict[str, str]


class RateLimiter:
    """Fixed windows aligned to multiples of `period` (as Rack::Attack counts), keyed by IP."""

    def __init__(self, limit: int, period: int) -> None:
        self.limit = limit
        self.period = max(1, period)
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def check(self, client_ip: str, name: str) -> ThrottleResult:
        now = time.time()
        window = int(now // self.period)
        with self._lock:
            # Forget earlier windows so the table stays as small as the set of active clients.
            for key in [k for k in self._counts if k[1] < window]:
                del self._counts[key]
            observed = self._counts.get((client_ip, window), 0) + 1
            self._counts[(client_ip, window)] = observed
        reset_at = (window + 1) * self.period
        headers = {
            "RateLimit-Name": name,
            "RateLimit-Limit": str(math.ceil(self.limit * 60 / self.period)),
            "RateLimit-Observed": str(observed),
            "RateLimit-Remaining": str(max(self.limit - observed, 0)),
            "RateLimit-Reset": str(reset_at),
        }
        if observed <= self.limit:
            return ThrottleResult(False, headers)
        headers["RateLimit-ResetTime"] = formatdate(reset_at, usegmt=True)
        headers["Retry-After"] = str(max(1, math.ceil(reset_at - now)))
        return ThrottleResult(True, headers)


def throttled_response(headers: dict[str, str]) -> Response:
    """Rack::Attack's answer: 429, text/plain, `Retry later` and the seven headers."""
    resp = Response(429, b"Retry later\n", [("Content-Type", "text/plain")])
    for name, value in headers.items():
        resp.set_header(name, value)
    return resp
