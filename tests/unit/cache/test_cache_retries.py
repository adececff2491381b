"""cache-archiver and cache-extractor retry a failing cache server as gitlab-runner does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.unit.cache.helpers import runnerfleet

ARCHIVE = "../cache/proj/key-1/cache.zip"


class FlakyCache:
    """A pre-signed-URL cache server on 127.0.0.1 that answers 500 to its first `failures`
    requests, then stores PUT bodies and serves them to GET."""

    def __init__(self) -> None:
        self.failures = 0
        self.requests: list[str] = []
        self.stored: bytes | None = None
        cache = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _fail(self) -> bool:
                cache.requests.append(self.command)
                if cache.failures > 0:
                    cache.failures -= 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return True
                return False

            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self._fail():
                    return
                cache.stored = body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                if self._fail():
                    return
                data = cache.stored or b""
                self.send_response(200 if cache.stored is not None else 404)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Last-Modified", "Tue, 24 Nov 2026 10:00:00 GMT")
                self.end_headers()
                self.wfile.write(data)

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/proj/key-1/cache.zip"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def cache() -> Iterator[FlakyCache]:
    server = FlakyCache()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "vendor").mkdir(parents=True)
    (project / "vendor" / "dep.txt").write_text("dependency\n")
    return project


def test_archiver_retries_a_failing_upload_and_succeeds(tmp_path: Path, cache: FlakyCache) -> None:
    cache.failures = 2
    ran = runnerfleet(_project(tmp_path), "cache-archiver", "--file", ARCHIVE, "--path", "vendor",
                      "--url", cache.url, "--retry-time", "0.1s")
    assert ran.code == 0, ran.output
    assert ran.output.count("Retrying...") == 2, ran.output
    assert cache.requests == ["PUT", "PUT", "PUT"] and cache.stored is not None


def test_archiver_gives_up_after_its_retries_with_a_fatal_line(tmp_path: Path,
                                                                 cache: FlakyCache) -> None:
    cache.failures = 10
    ran = runnerfleet(_project(tmp_path), "cache-archiver", "--file", ARCHIVE, "--path", "vendor",
                      "--url", cache.url, "--retry", "1", "--retry-time", "0.1s")
    assert ran.code == 1, ran.output
    assert "FATAL" in ran.output and ran.output.count("Retrying...") == 1, ran.output
    assert cache.requests == ["PUT", "PUT"]


def test_extractor_retries_a_failing_download_and_extracts(tmp_path: Path,
                                                           cache: FlakyCache) -> None:
    assert runnerfleet(_project(tmp_path), "cache-archiver", "--file", ARCHIVE, "--path",
                       "vendor", "--url", cache.url).code == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    cache.failures, cache.requests = 2, []
    ran = runnerfleet(fresh, "cache-extractor", "--file", ARCHIVE, "--url", cache.url,
                      "--retry-time", "0.1s")
    assert ran.code == 0, ran.output
    assert ran.output.count("Retrying...") == 2, ran.output
    assert (fresh / "vendor" / "dep.txt").read_text() == "dependency\n"
