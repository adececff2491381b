"""Errors of cache object storage answers (S3-style XML error bodies), retryable on 5xx."""

from __future__ import annotations

import re

from runnerfleet.artifacts.messages import status_text
from runnerfleet.artifacts.transport import Response

_TAG = r"<{0}>(.*?)</{0}>"


class RemoteError(Exception):
    def __init__(self, text: str, retry: bool) -> None:
        super().__init__(text)
        self.retry = retry


def remote_error(response: Response) -> RemoteError:
    """`received: 403 Forbidden. Request failed with code: AccessDenied, message: ...` (gitlab-runner)."""
    text = f"received: {status_text(response.status)}"
    body = response.body.decode("utf-8", "replace")
    code = re.search(_TAG.format("Code"), body, re.S)
    message = re.search(_TAG.format("Message"), body, re.S)
    if code or message:
        detail = f"code: {code.group(1)}" if code else ""
        if message:
            detail += f", message: {message.group(1)}"
        text += f". Request failed with {detail}"
    return RemoteError(text, retry=response.status // 100 == 5)
