"""GitLab's `expire_in` texts (ChronicDuration): `1 week`, `3 days 4 hrs`, `2h`, `never`."""

from __future__ import annotations

import re

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "mos": 2592000, "mon": 2592000, "mons": 2592000, "month": 2592000, "months": 2592000,
    "y": 31557600, "yr": 31557600, "yrs": 31557600, "year": 31557600, "years": 31557600,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)?")
NEVER = ("never", "")


def parse_expire_in(text: str | None) -> float | None:
    """Seconds until expiry; None for `never` and for texts ChronicDuration cannot read (no expiry)."""
    value = (text or "").strip().lower()
    if value in NEVER:
        return None
    cleaned = re.sub(r"\band\b|,", " ", value)
    total, pos = 0.0, 0
    for m in _PART.finditer(cleaned):
        if cleaned[pos:m.start()].strip():
            return None
        unit = m.group(2) or "s"
        if unit not in _UNITS:
            return None
        total += float(m.group(1)) * _UNITS[unit]
        pos = m.end()
    if cleaned[pos:].strip() or total <= 0:
        return None
    return total
