"""`cache-extractor`: bring the cache archive up to date from its pre-signed URL, then extract it.

Without `--url` only the local archive is extracted. With one, the remote object is downloaded
unless the local archive is at least as new as its `Last-Modified` ("is up to date"); the
download lands in a temporary file that replaces the archive when complete. A missing remote
object, a failed download or a missing local archive ends with exit status 1: the job script
then prints "Failed to extract cache" and tries the fallback keys. The job never fails for it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time

from runnerfleet.artifacts.attempts import StepFailed, run_with_retries
from runnerfleet.artifacts.extract import extract_for_helper
from runnerfleet.artifacts.transport import Response, TransportError, clean_url
from runnerfleet.cache import metadata
from runnerfleet.cache.client import CacheHelper, CacheTransferOptions
from runnerfleet.cache.envfile import load_env_file
from runnerfleet.cache.httpdate import parse_http_date
from runnerfleet.cache.remote import remote_error

# The extractor takes nothing beyond what both cache helpers take.
ExtractOptions = CacheTransferOptions


class CacheExtractor(CacheHelper[ExtractOptions]):
    def run(self) -> int:
        o = self.o
        if not o.file:
            self.log.warning("Missing cache file")
            return 1
        if o.env_file:
            load_env_file(o.env_file)
        if o.url:
            failure = run_with_retries(lambda _attempt: self._download(), retries=o.retries,
                                       retry_time=o.retry_time, sleep=self.sleep, reporter=self.log)
            if failure is not None:
                self.log.warning(str(failure))
                return 1
        else:
            self.log.info("No URL provided, cache will not be downloaded from shared cache server. "
                          "Instead a local version of cache will be extracted.")
        path = os.path.join(self.wd, o.file)
        if not os.path.exists(path):
            self.log.warning("Cache file does not exist")
            return 1
        return extract_for_helper(path, self.wd, self.log)

    def _download(self) -> None:
        path = os.path.join(self.wd, self.o.file)
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        self.log.info("Using presigned URL for cache download")
        fd, tmp = tempfile.mkstemp(prefix="cache", dir=os.path.dirname(path) or ".")
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    local = os.lstat(path).st_mtime
                except FileNotFoundError:
                    local = None

                def wanted(response: Response) -> bool:
                    if response.status != 200:
                        return False
                    remote = parse_http_date(response.header("last-modified")) or 0.0
                    if local is not None and remote <= local:
                        return False
                    name = os.path.splitext(os.path.basename(self.o.file))[0]
                    self.log.info(f"Downloading {name} from {clean_url(self.o.url)}")
                    return True

                try:
                    response = self.client.request("GET", self.o.url, into=out, accept_into=wanted)
                except TransportError as exc:
                    raise StepFailed(str(exc), retry=True) from None
            if response.status == 404:
                raise StepFailed("file does not exist", retry=False)
            if response.status != 200:
                error = remote_error(response)
                raise StepFailed(str(error), retry=error.retry)
            remote = parse_http_date(response.header("last-modified"))
            if local is not None and (remote or 0.0) <= local:
                self.log.info(f"{os.path.basename(self.o.file)} is up to date")
                return
            stamp = remote if remote is not None else time.time()
            os.utime(tmp, (time.time(), stamp))
            os.replace(tmp, path)
            metadata.write(path, metadata.from_headers(response.headers))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
