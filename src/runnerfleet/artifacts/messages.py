"""How coordinator answers read in helper log lines (gitlab-runner's status texts and error messages)."""

from __future__ import annotations

import http
import json

from runnerfleet.artifacts.transport import Response, clean_url


def status_text(status: int) -> str:
    """`413 Request Entity Too Large`, as Go's http.Response.Status reads."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    if status == 413:
        phrase = "Request Entity Too Large"
    return f"{status} {phrase}".strip()


def api_message(method: str, response: Response) -> str:
    """2xx: the status; JSON error: `<METHOD> <url>: <status> (<message>)`; else the status."""
    line = status_text(response.status)
    if 200 <= response.status < 300:
        return line
    if "json" not in response.header("content-type"):
        return line
    try:
        parsed = json.loads(response.body or b"null")
    except ValueError:
        return line
    message = parsed.get("message") if isinstance(parsed, dict) else None
    if message is None and isinstance(parsed, dict):
        message = parsed.get("error")
    text = f"{method} {clean_url(response.url)}: {line}"
    if message is None or message == line:
        return text
    return f"{text} ({message if isinstance(message, str) else json.dumps(message)})"
