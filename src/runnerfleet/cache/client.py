"""What both cache helpers (archiver, extractor) take and how they talk HTTP: options, client, timeouts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from runnerfleet.artifacts.attempts import RETRIES, RETRY_TIME
from runnerfleet.artifacts.command import HelperCommand
from runnerfleet.artifacts.transport import HttpClient


@dataclass
class CacheTransferOptions:
    """The local archive (`--file`), its pre-signed URL, `--timeout` (minutes), env file and retries."""

    file: str
    url: str = ""
    timeout_minutes: int = 10
    env_file: str = ""
    retries: int = RETRIES
    retry_time: float = RETRY_TIME


OptionsT = TypeVar("OptionsT", bound=CacheTransferOptions)


def cache_client(timeout_minutes: int) -> HttpClient:
    """Both timeouts from `--timeout` minutes; 10 minutes when it is not positive."""
    timeout = float(timeout_minutes * 60 if timeout_minutes > 0 else 600)
    return HttpClient(timeout=timeout, response_header_timeout=timeout)


class CacheHelper(HelperCommand[OptionsT]):
    def default_client(self, options: OptionsT) -> HttpClient:
        return cache_client(options.timeout_minutes)
