"""HTTP dates (`Last-Modified`) to and from epoch seconds."""

from __future__ import annotations

import calendar
import time

_FORMAT = "%a, %d %b %Y %H:%M:%S GMT"


def format_http_date(epoch: float) -> str:
    return time.strftime(_FORMAT, time.gmtime(epoch))


def parse_http_date(text: str) -> float | None:
    """Epoch seconds of an RFC 1123 date, None when absent or unparseable."""
    try:
        return float(calendar.timegm(time.strptime(text.strip(), _FORMAT)))
    except ValueError:
        return None
