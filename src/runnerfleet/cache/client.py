"""The HTTP client of the cache helpers, its timeouts from `--timeout` (minutes; 10 when not positive)."""

from __future__ import annotations

from runnerfleet.artifacts.transport import HttpClient


def cache_client(timeout_minutes: int) -> HttpClient:
    timeout = float(timeout_minutes * 60 if timeout_minutes > 0 else 600)
    return HttpClient(timeout=timeout, response_header_timeout=timeout)
