"""`artifacts-uploader`: archive the selected files and stream them to `POST /jobs/:id/artifacts`.

The archive is produced while it is sent (multipart, chunked), so neither memory nor disk holds
it. GitLab's answers are handled as gitlab-runner does: 201 done; 307 → retry against the
redirect's scheme and host; 403 and 413 fail at once; 503 is retried (6 tries in all); any other
answer or network failure is retried (3 tries in all), each try producing the archive anew.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from runnerfleet.artifacts import archive
from runnerfleet.artifacts.command import HelperCommand
from runnerfleet.artifacts.expand import expand
from runnerfleet.artifacts.files import FileSet, collect
from runnerfleet.artifacts.messages import api_message, status_text
from runnerfleet.artifacts.transport import BodyError, HttpClient, TransportError
from runnerfleet.artifacts.zipwrite import Sink, compression_level
from runnerfleet.tokens import shorten_token

DEFAULT_TRIES = 3
SERVICE_UNAVAILABLE_TRIES = 6
BACKOFF_MIN, BACKOFF_MAX = 1.0, 5.0


@dataclass
class UploadOptions:
    url: str
    token: str
    job_id: int
    paths: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    untracked: bool = False
    name: str = "artifacts"
    expire_in: str = ""
    artifact_format: str = ""
    artifact_type: str = ""
    compression_level: str = ""
    timeout: float = 3600.0
    response_header_timeout: float = 600.0


class _Outcome(Exception):
    """How one try ended when it did not succeed: `retry` and the error text for the log."""

    def __init__(self, text: str, *, retry: bool, tries: int = DEFAULT_TRIES,
                 new_url: str | None = None) -> None:
        super().__init__(text)
        self.retry, self.tries, self.new_url = retry, tries, new_url


def api_base(url: str) -> str:
    return url.rstrip("/") + "/api/v4/"


class Uploader(HelperCommand[UploadOptions]):
    def default_client(self, options: UploadOptions) -> HttpClient:
        return HttpClient(timeout=options.timeout, response_header_timeout=options.response_header_timeout)

    def _fields(self, **extra: object) -> dict[str, object]:
        return {"id": self.o.job_id, "token": shorten_token(self.o.token), **extra}

    def run(self) -> int:
        """Exit status of the helper: 0 uploaded (or nothing to upload), 1 failed."""
        o = self.o
        if not o.url or not o.token:
            self.log.fatal("Missing runner credentials")
            return 1
        if o.job_id <= 0:
            self.log.fatal("Missing build ID")
            return 1
        name = expand(o.name)
        files = collect(self.wd, [expand(p) for p in o.paths], exclude=[expand(p) for p in o.exclude],
                        untracked=o.untracked, reporter=self.log)
        if len(files) == 0:
            self.log.error("No files to upload")
            return 0
        fmt = o.artifact_format or "zip"
        if fmt not in archive.FORMATS:
            self.log.fatal(f'"{fmt}" format: unsupported archive format')
            return 1
        filename = archive.upload_filename(name, fmt)
        level = compression_level(o.compression_level)
        base = o.url
        tries, delay = 0, BACKOFF_MIN
        while True:
            tries += 1
            try:
                self._try(base, filename, fmt, files, level)
                return 0
            except archive.ArchiveError as exc:
                self.log.fatal(str(exc))
                return 1
            except _Outcome as outcome:
                if outcome.new_url:
                    base = outcome.new_url
                if not outcome.retry or tries >= outcome.tries:
                    self.log.fatal(str(outcome))
                    return 1
                self.log.warning("Retrying...", context="artifacts-uploader", error=str(outcome))
                self.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    def _try(self, base: str, filename: str, fmt: str, files: FileSet, level: int) -> None:
        o = self.o
        query = {k: v for k, v in (("artifact_format", o.artifact_format), ("artifact_type", o.artifact_type),
                                   ("expire_in", o.expire_in)) if v}
        url = f"{api_base(base)}jobs/{o.job_id}/artifacts"
        if query:
            url += "?" + urlencode(sorted(query.items()))
        boundary = secrets.token_hex(30)
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{quote(filename, safe=' ')}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body(sink: Sink) -> None:
            sink.write(head)
            archive.write_archive(fmt, sink, files, level=level, reporter=self.log)
            sink.write(tail)

        prefix = (f'Uploading artifacts as "{o.artifact_type}" to coordinator...' if o.artifact_type
                  else "Uploading artifacts to coordinator...")
        try:
            response = self.client.request(
                "POST", url, body=body,
                headers={"JOB-TOKEN": o.token, "Content-Type": f"multipart/form-data; boundary={boundary}",
                         "Accept": "application/json"})
        except BodyError as exc:
            raise archive.ArchiveError(str(exc)) from None
        except TransportError as exc:
            self.log.error(f"{prefix} error", **self._fields(error=str(exc)))
            raise _Outcome(str(exc), retry=True) from None
        text = api_message("POST", response)
        fields = self._fields(responseStatus=status_text(response.status), status=response.status)
        if response.status == 201:
            self.log.info(f"{prefix} {text}", **fields)
            return
        if response.status == 307:
            location = response.header("location")
            parts = urlsplit(location)
            if not parts.scheme or not parts.netloc:
                raise _Outcome(f"parsing new location URL: {location!r}", retry=True)
            new_url = f"{parts.scheme}://{parts.netloc}"
            self.log.info("Upload request redirected", location=location, **{"new-url": new_url})
            raise _Outcome("request redirected", retry=True, new_url=new_url)
        if response.status == 403:
            self.log.error(f"{prefix} {text}", **fields)
            raise _Outcome("permission denied", retry=False)
        if response.status == 413:
            self.log.error(f"{prefix} {text}", **fields)
            raise _Outcome("too large: the artifacts archive is larger than GitLab accepts for this job; "
                           "upload fewer files or raise the instance's maximum artifacts size", retry=False)
        if response.status == 503:
            self.log.error(f"{prefix} {text}", **fields)
            raise _Outcome("service unavailable", retry=True, tries=SERVICE_UNAVAILABLE_TRIES)
        self.log.warning(f"{prefix} {text}", **fields)
        raise _Outcome(f"upload failed: {text}", retry=True)
