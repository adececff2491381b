"""GitLab duration text (`1h 30m`, `3 hours`, `90 minutes`, `3600`) → seconds, as ChronicDuration reads it."""

from __future__ import annotations

import re

# ChronicDuration's units in seconds (a month is 30 days, a year 365.25 days).
_UNITS: dict[str, float] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "mos": 2592000, "month": 2592000, "months": 2592000,
    "y": 31557600, "yr": 31557600, "yrs": 31557600, "year": 31557600, "years": 31557600,
}
_TOKEN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")


def parse_duration(text: str | int) -> int | None:
    """Seconds in `text`, or None when it is not a duration GitLab accepts."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    value = text.strip().lower().replace(",", " ").replace(" and ", " ")
    if not value:
        return None
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", value):  # 1:30 or 1:30:00
        parts = [int(p) for p in value.split(":")]
        while len(parts) < 3:
            parts.insert(0, 0)
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    total = 0.0
    pos = 0
    for match in _TOKEN.finditer(value):
        if value[pos:match.start()].strip():
            return None
        number, unit = float(match.group(1)), match.group(2) or "s"
        if unit not in _UNITS:
            return None
        total += number * _UNITS[unit]
        pos = match.end()
    if pos == 0 or value[pos:].strip():
        return None
    return int(total)
