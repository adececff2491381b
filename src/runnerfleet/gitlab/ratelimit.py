"""gitlab-runner ≤ 18.2's 429 handling: wait for `RateLimit-ResetTime`, give up after 5 tries.

Only 429 is handled. With a valid RFC 1123 `RateLimit-ResetTime` the request is sent again when
that time comes (at once if it has passed); with an unparseable one after 60 s; without one the
429 goes back to the caller. Five rate-limited answers in a row end in RateLimitError. Like
gitlab-runner, the wait also follows the fifth 429, so a caller looping on errors is slowed too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from runnerfleet.errors import RateLimitError

RESET_TIME_HEADER = "RateLimit-ResetTime"
FALLBACK_DELAY = 60.0
MAX_ATTEMPTS = 5

log = logging.getLogger("runnerfleet.gitlab")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Go's time.RFC1123 layout "Mon, 02 Jan 2006 15:04:05 MST": fixed two-digit fields, a zone
# abbreviation. Go reads an abbreviation it does not know as UTC+0, as is done here.
_RFC1123 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (" + "|".join(_MONTHS) + r") (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) ([A-Z]{3,5}|UTC|GMT)"
)


def parse_reset_time(value: str) -> datetime | None:
    """A `RateLimit-ResetTime` value as a UTC datetime, or None if Go's RFC 1123 parse rejects it."""
    m = _RFC1123.fullmatch(value)
    if m is None:
        return None
    day, month, year, hour, minute, second, _zone = m.groups()
    try:
        return datetime(
            int(year), _MONTHS.index(month) + 1, int(day),
            int(hour), int(minute), int(second), tzinfo=UTC,
        )
    except ValueError:
        return None


def send_with_rate_limit(
    send: Callable[[], httpx.Response],
    *,
    method: str,
    url: str,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
) -> httpx.Response:
    """Call `send()` (a fresh request each time) until it is not a 429 that asks to wait."""
    last_value = ""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        response = send()
        if response.status_code != 429:
            return response
        value = response.headers.get(RESET_TIME_HEADER)  # httpx headers are case-insensitive
        if value is None or value == "":
            # No way to know how long to wait: the caller reports the 429.
            return response
        last_value = value
        reset_at = parse_reset_time(value)
        if reset_at is None:
            delay = FALLBACK_DELAY
            why = f"{RESET_TIME_HEADER} {value!r} is not an RFC 1123 date, waiting the 60 s fallback"
        else:
            delay = max((reset_at - clock()) / timedelta(seconds=1), 0.0)
            why = f"{RESET_TIME_HEADER} is {value}"
        response.close()
        log.warning(
            "%s %s: rate limited (429, attempt %d of %d); %s; sleeping %.1f s",
            method, url, attempt, MAX_ATTEMPTS, why, delay,
        )
        if delay > 0:
            sleep(delay)
    raise RateLimitError(
        f"{method} {url}: gave up due to rate limit after {MAX_ATTEMPTS} attempts "
        f"(last {RESET_TIME_HEADER}: {last_value}); GitLab or a proxy in front of it keeps "
        "answering 429 Too Many Requests: retry later or ask the GitLab administrator about "
        "the rate limits",
        method=method,
        endpoint=url,
        status=429,
        api_message="gave up due to rate limit",
    )
