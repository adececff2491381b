"""What every helper command with a remote side holds: options, reporter, working dir, HTTP client, sleep.

The artifacts uploader/downloader and the cache archiver/extractor share it; tests inject the
reporter, working directory, client and sleep.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from runnerfleet.artifacts.report import Reporter
from runnerfleet.artifacts.transport import HttpClient

OptionsT = TypeVar("OptionsT")


class HelperCommand(Generic[OptionsT]):
    def __init__(self, options: OptionsT, *, reporter: Reporter | None = None, wd: str | None = None,
                 client: HttpClient | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.o = options
        self.log = reporter or Reporter()
        self.wd = wd or os.getcwd()
        self.client = client or self.default_client(options)
        self.sleep = sleep

    def default_client(self, options: OptionsT) -> HttpClient:
        """The client when none is injected; subclasses give it their timeouts."""
        return HttpClient()
