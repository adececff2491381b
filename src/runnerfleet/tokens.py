"""Token shortening as gitlab-runner does it for logs, directories and cache paths (one place for it)."""

from __future__ import annotations

import re

# Applied one after the other, like gitlab-runner's helpers/shorten_token.go.
_PREFIXES = (
    re.compile(r"^glrt-(t[123]_)?|^t[123]_|^glrtr-"),
    re.compile(r"^glcbt-"),
    re.compile(r"^GR[0-9A-Fa-f]{7}"),
)
_SHORT_LEN = 9


def shorten_token(token: str) -> str:
    """Strip known token prefixes, keep the first 9 characters."""
    for prefix in _PREFIXES:
        token = prefix.sub("", token, count=1)
    return token[:_SHORT_LEN]
