"""`artifacts-downloader`: fetch a dependency's artifacts archive and extract it into the working directory.

The archive is streamed into a temporary file (never memory), then extracted with the checks of
`extract`. Answers: 200 streams; with direct download (first try only) a 302/307 is followed to
its Location without the job token; 401/403 → "permission denied" and 404 → "file does not exist"
fail at once (gitlab-runner's messages); anything else is retried twice, a second apart.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from runnerfleet.artifacts.attempts import RETRIES, RETRY_TIME, StepFailed, run_with_retries
from runnerfleet.artifacts.command import HelperCommand
from runnerfleet.artifacts.expand import expand
from runnerfleet.artifacts.extract import extract_for_helper
from runnerfleet.artifacts.messages import api_message, status_text
from runnerfleet.artifacts.transport import Response, TransportError
from runnerfleet.artifacts.uploader import api_base
from runnerfleet.tokens import shorten_token

MAX_REDIRECTS = 10
PREFIX = "Downloading artifacts from coordinator..."


@dataclass
class DownloadOptions:
    url: str
    token: str
    job_id: int
    direct_download: bool = False
    staging_dir: str = ""
    retries: int = RETRIES
    retry_time: float = RETRY_TIME


class Downloader(HelperCommand[DownloadOptions]):
    def _fields(self, **extra: object) -> dict[str, object]:
        return {"id": self.o.job_id, "token": shorten_token(self.o.token), **extra}

    def run(self) -> int:
        o = self.o
        if not o.url:
            self.log.warning("Missing URL (--url)")
        if not o.token:
            self.log.warning("Missing runner credentials (--token)")
        if o.job_id <= 0:
            self.log.warning("Missing build ID (--id)")
        if o.job_id <= 0 or not o.token or not o.url:
            self.log.fatal("Incomplete arguments")
            return 1
        staging = expand(o.staging_dir) or None
        try:
            fd, path = tempfile.mkstemp(prefix="artifacts", dir=staging)
        except OSError as exc:
            self.log.fatal(f"creating the staging file: {exc.strerror or exc}")
            return 1
        os.close(fd)

        def attempt_download(attempt: int) -> None:
            with open(path, "wb") as out:
                self._download(out, direct=o.direct_download and attempt == 0)

        try:
            failure = run_with_retries(attempt_download, retries=o.retries, retry_time=o.retry_time,
                                       sleep=self.sleep, reporter=self.log)
            if failure is not None:
                self.log.fatal(str(failure))
                return 1
            return extract_for_helper(path, self.wd, self.log)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def _get(self, url: str, out: BinaryIO, *, token: bool, follow: bool) -> Response:
        """GET following redirects (job token only towards the coordinator's own host)."""
        origin = urlsplit(url).netloc
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"JOB-TOKEN": self.o.token} if token and urlsplit(url).netloc == origin else {}
            response = self.client.request("GET", url, headers=headers, into=out)
            if not follow or response.status not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(url, response.header("location"))
        return response

    def _download(self, out: BinaryIO, *, direct: bool) -> None:
        url = f"{api_base(self.o.url)}jobs/{self.o.job_id}/artifacts"
        try:
            if direct:
                response = self._get(url + "?direct_download=true", out, token=True, follow=False)
                if response.status in (302, 307) and response.header("location"):
                    location = urljoin(url, response.header("location"))
                    self.log.info(f"Direct download from {urlsplit(location).hostname}")
                    response = self._get(location, out, token=False, follow=True)
            else:
                response = self._get(url, out, token=True, follow=True)
        except TransportError as exc:
            self.log.error(f"{PREFIX} error", **self._fields(error=str(exc)))
            raise StepFailed("invalid argument", retry=True) from None
        fields = self._fields(responseStatus=status_text(response.status), status=response.status)
        if response.status == 200:
            self.log.info(f"{PREFIX} ok", **fields)
            return
        if response.status == 401:
            self.log.error(f"{PREFIX} unauthorized", **fields)
            raise StepFailed("permission denied", retry=False)
        if response.status == 403:
            self.log.error(f"{PREFIX} forbidden", **{**fields, "status": api_message("GET", response)})
            raise StepFailed("permission denied", retry=False)
        if response.status == 404:
            self.log.error(f"{PREFIX} not found", **fields)
            raise StepFailed("file does not exist", retry=False)
        self.log.warning(f"{PREFIX} failed", **fields)
        raise StepFailed("invalid argument", retry=True)
