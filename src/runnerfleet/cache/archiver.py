"""`cache-archiver`: zip the cache paths into the local archive, then upload it to its pre-signed URL.

The archive is rebuilt only when a selected file is newer than it ("Archive is up to date!"
otherwise); it is written to a temporary file and renamed into place, with `metadata.json`
beside it. With `--url` it is sent by PUT with its length (never chunked: object stores need the
length), unless it exceeds `--max-uploaded-archive-size`. "No files to cache." is a warning.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field

from runnerfleet.artifacts.archive import write_zip
from runnerfleet.artifacts.attempts import StepFailed, run_with_retries
from runnerfleet.artifacts.expand import expand
from runnerfleet.artifacts.files import FileSet, collect
from runnerfleet.artifacts.transport import TransportError, clean_url
from runnerfleet.artifacts.zipwrite import compression_level
from runnerfleet.cache import metadata
from runnerfleet.cache.client import CacheHelper, CacheTransferOptions
from runnerfleet.cache.envfile import load_env_file
from runnerfleet.cache.httpdate import format_http_date
from runnerfleet.cache.remote import remote_error


@dataclass
class ArchiveOptions(CacheTransferOptions):
    paths: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    untracked: bool = False
    headers: list[str] = field(default_factory=list)
    alternate_file: str = ""
    max_uploaded_archive_size: int = 0
    metadata: str = ""
    compression_level: str = ""
    compression_format: str = ""


class CacheArchiver(CacheHelper[ArchiveOptions]):

    def _path(self, name: str) -> str:
        return os.path.join(self.wd, name)

    def run(self) -> int:
        o = self.o
        if not o.file:
            self.log.fatal("Missing --file")
            return 1
        if o.env_file:
            load_env_file(o.env_file)
            # The runner passes the metadata in the env file (CACHE_METADATA), like gitlab-runner.
            o.metadata = o.metadata or os.environ.get("CACHE_METADATA", "")
        self._rename_alternate()
        files = collect(self.wd, [expand(p) for p in o.paths], exclude=[expand(p) for p in o.exclude],
                        untracked=o.untracked, reporter=self.log)
        if len(files) == 0:
            self.log.warning("No files to cache.")
            return 0
        path = self._path(o.file)
        if not self._changed(path, files):
            self.log.info("Archive is up to date!")
            return 0
        if o.compression_format and o.compression_format.lower() not in ("zip", ""):
            self.log.warning(f"cache compression format {o.compression_format!r} is not supported by "
                             "runnerfleet yet; using zip")
        try:
            size = self._create(path, files)
            metadata.write(path, self._metadata())
        except (OSError, ValueError) as exc:
            self.log.fatal(str(exc))
            return 1
        return self._upload(path, size)

    def _metadata(self) -> dict[str, str]:
        if not self.o.metadata:
            return {}
        try:
            parsed = json.loads(self.o.metadata)
        except ValueError:
            raise ValueError(f"invalid cache metadata {self.o.metadata!r}: expected a JSON object") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"invalid cache metadata {self.o.metadata!r}: expected a JSON object")
        return {str(k): str(v) for k, v in parsed.items()}

    def _rename_alternate(self) -> None:
        alt = self.o.alternate_file
        if not alt or alt == self.o.file or os.path.exists(self._path(self.o.file)):
            return
        if os.path.exists(self._path(alt)):
            os.makedirs(os.path.dirname(self._path(self.o.file)), mode=0o700, exist_ok=True)
            os.replace(self._path(alt), self._path(self.o.file))
            self.log.info("Renamed alternate cache file to primary")

    @staticmethod
    def _changed(path: str, files: FileSet) -> bool:
        try:
            archived = os.stat(path).st_mtime
        except FileNotFoundError:
            return True
        return files.newest_mtime() > archived

    def _create(self, path: str, files: FileSet) -> int:
        directory = os.path.dirname(path) or "."
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="archive_", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                write_zip(out, files, level=compression_level(self.o.compression_level), reporter=self.log)
            size = os.stat(tmp).st_size
            os.replace(tmp, path)
            return size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _upload(self, path: str, size: int) -> int:
        o = self.o
        if not o.url:
            self.log.info("No URL provided, cache will not be uploaded to shared cache server. "
                          "Cache will be stored only locally.")
            return 0
        if o.max_uploaded_archive_size and size > o.max_uploaded_archive_size:
            self.log.info(f"Cache archive size ({size}) is too big (Limit is set to "
                          f"{o.max_uploaded_archive_size}). Cache will be stored only locally.")
            return 0
        failure = run_with_retries(lambda _attempt: self._put(path), retries=o.retries,
                                   retry_time=o.retry_time, sleep=self.sleep, reporter=self.log)
        if failure is not None:
            self.log.fatal(str(failure))
            return 1
        return 0

    def _put(self, path: str) -> None:
        self.log.info("Using presigned URL for cache upload")
        self.log.info(f"Uploading {os.path.basename(path)} to {clean_url(self.o.url)}")
        headers: dict[str, str] = {}
        for raw in self.o.headers:
            key, sep, value = raw.partition(":")
            if sep:
                headers[key.strip()] = value.strip()
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/octet-stream"
        st = os.stat(path)
        headers["Last-Modified"] = format_http_date(st.st_mtime)
        try:
            with open(path, "rb") as body:
                response = self.client.request("PUT", self.o.url, headers=headers, body=body,
                                               content_length=st.st_size)
        except TransportError as exc:
            raise StepFailed(str(exc), retry=True) from None
        if 200 <= response.status < 300:
            return
        error = remote_error(response)
        raise StepFailed(str(error), retry=error.retry)
