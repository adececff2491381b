"""Docker memory sizes (`"4g"`, `"512m"`, `"1024k"`, `"100"`): validation and byte values."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?(?:([kmgtp])i?b?|b)?$", re.IGNORECASE)
_FACTOR = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_size(text: str) -> int:
    """Bytes for a size with an optional b/k/m/g unit (case-insensitive, `kb`/`mb`/`gb` too)."""
    match = _SIZE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f'expected a size like "4g", "512m" or "1024k", got {text!r}')
    unit = (match.group(2) or "").lower()
    return int(float(match.group(1)) * _FACTOR[unit])


def is_size(text: str) -> bool:
    try:
        parse_size(text)
    except ValueError:
        return False
    return True
