"""Small helpers shared by the client tests: a recording sleep and a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)


class FakeTime:
    """An injected clock and sleep: sleeping moves the clock, nothing really waits."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def http_date(moment: datetime) -> str:
    """RFC 1123 form, as GitLab sends RateLimit-ResetTime."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def api_requests(log: list[dict[str, Any]], method: str, path: str) -> list[dict[str, Any]]:
    """The coordinator's log entries for one endpoint (path relative to /api/v4/)."""
    full = "/api/v4/" + path.lstrip("/")
    return [e for e in log if e["method"] == method and e["path"] == full]
