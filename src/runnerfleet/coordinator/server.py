"""The HTTP/1.1 server (keep-alive, chunked bodies, optional TLS) around the coordinator app."""

from __future__ import annotations

import contextlib
import email.utils
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from runnerfleet.coordinator.app import Coordinator
from runnerfleet.coordinator.jobs import JobOptions
from runnerfleet.coordinator.store import DB_NAME
from runnerfleet.coordinator.web import Request, Response, message
from runnerfleet.errors import RunnerfleetError

# Idle keep-alive connections are closed after this; long polls later stay well below it.
CONNECTION_TIMEOUT = 300
MAX_BODY = 1 << 30


class _BadRequestBody(Exception):
    pass


class _StreamedBody:
    """A request body read on demand (Content-Length or chunked), for routes that stream it."""

    def __init__(self, rfile: Any, chunked: bool, length: int) -> None:
        self._rfile = rfile
        self._chunked = chunked
        self._left = length  # bytes left in the body (Content-Length) or the current chunk
        self._done = not chunked and length == 0

    def _next_chunk(self) -> None:
        line = self._rfile.readline(65537)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequestBody from None
        if size == 0:
            while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                pass
            self._done = True
        self._left = size

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = 1 << 20
        while not self._done:
            if self._left == 0:
                if not self._chunked:
                    self._done = True
                    break
                self._next_chunk()
                continue
            data = self._rfile.read(min(size, self._left))
            if not data:
                raise _BadRequestBody
            self._left -= len(data)
            if self._left == 0 and self._chunked:
                self._rfile.readline(3)  # the CRLF after each chunk
            return bytes(data)
        return b""

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


_DATE: tuple[int, str] = (0, "")
_PEEK = 16 * 1024
_MAX_HEADERS = 100  # http.client's limit: more goes the standard way (and is refused there)
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class _SimpleHeaders:
    """The parts of `email.message.Message` the handler uses: `get` (first of a name, any
    case), `items` (all, in order), `[]` and `in`."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self._pairs:
            if key.lower() == wanted:
                return value
        return default

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._pairs)


def _set_date(value: tuple[int, str]) -> None:
    global _DATE
    _DATE = value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "runnerfleet-coordinator"
    timeout = CONNECTION_TIMEOUT
    # TCP_NODELAY: headers and body go out in separate writes; with Nagle on, the body waits
    # for the client's delayed ACK of the headers (~40 ms per answer on Linux loopback).
    disable_nagle_algorithm = True
    server: _HTTPServer
    _log_line: str = ""

    def version_string(self) -> str:
        return self.server_version

    def parse_request(self) -> bool:
        """The request line and headers; the usual request takes a short path.

        `BaseHTTPRequestHandler.parse_request` hands the header block to the email package's
        parser (about a tenth of the coordinator's CPU per job call). A request whose line is
        `METHOD /path HTTP/1.1` and whose header block is already buffered, one `Name: value`
        per line with token names, is read directly here with the same outcome; anything else
        (folded or odd lines, HTTP/1.0, errors to answer) goes the standard way, untouched.
        """
        headers = self._simple_request()
        if headers is None:
            return super().parse_request()
        self.headers = headers  # type: ignore[assignment]
        connection = (headers.get("Connection") or "").lower()
        # HTTP/1.1 keeps the connection unless the client says close.
        self.close_connection = connection == "close"
        expect = (headers.get("Expect") or "").lower()
        return not (expect == "100-continue" and not self.handle_expect_100())

    def _simple_request(self) -> _SimpleHeaders | None:
        line: bytes = getattr(self, "raw_requestline", b"")
        if not line.endswith(b" HTTP/1.1\r\n"):
            return None
        words = line[:-11].split(b" ")
        if len(words) != 2 or not words[0].isalpha() or words[1][:1] != b"/":
            return None
        try:
            buffered = self.rfile.peek(_PEEK)  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            return None
        end = buffered.find(b"\r\n\r\n")
        if buffered.startswith(b"\r\n"):
            end = -2  # no headers at all
        elif end < 0:
            return None
        block = buffered[:end]
        pairs: list[tuple[str, str]] = []
        if end >= 0:
            lines = block.split(b"\r\n")
            if len(lines) >= _MAX_HEADERS:
                return None
            for raw in lines:
                name, sep, value = raw.partition(b":")
                if not sep or not _TOKEN.fullmatch(name) or b"\r" in value or b"\n" in value:
                    return None
                pairs.append((name.decode("latin-1"),
                              value.lstrip(b" \t").decode("latin-1")))
        self.rfile.read(end + 4)
        text = line.decode("latin-1").rstrip("\r\n")
        self.requestline = text
        self.request_version = "HTTP/1.1"
        self.command, path = words[0].decode("latin-1"), words[1].decode("latin-1")
        # As the standard parser: a leading `//` is reduced to one `/`.
        self.path = "/" + path.lstrip("/") if path.startswith("//") else path
        return _SimpleHeaders(pairs)

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header has whole seconds: formatted once per second, not once per answer.
        if timestamp is not None:
            return super().date_time_string(timestamp)
        now = int(time.time())
        cached = _DATE
        if cached[0] != now:
            cached = (now, email.utils.formatdate(now, usegmt=True))
            _set_date(cached)
        return cached[1]

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            raise _BadRequestBody from None
        if length < 0 or length > MAX_BODY:
            raise _BadRequestBody
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequestBody from None
            if size == 0:
                # Skip trailers up to the blank line that ends the message.
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise _BadRequestBody
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)  # the CRLF after each chunk

    def _serve(self) -> None:
        app = self.server.app
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path) or "/"
        fault = app.take_fault(self.command, path)
        if fault is not None and fault.kind == "drop" and not fault.after_body:
            self._drop(self._request(path, split.query, b""))
            return
        if app.streams_body(self.command, path) and (fault is None or fault.kind != "drop"):
            self._serve_streamed(path, split.query, fault)
            return
        try:
            body = self._read_body()
        except _BadRequestBody:
            self.close_connection = True
            self._write(message(400, "400 Bad Request"))
            return
        request = self._request(path, split.query, body)
        if fault is not None and fault.kind == "drop":
            self._drop(request)
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if request.method == "HEAD":
            request.method = "GET"
        try:
            response = app.handle(request, fault=fault, faults_checked=True)
        except Exception as exc:  # the server must answer like GitLab, never drop the connection
            self.log_error("internal error on %s %s: %s", self.command, request.path,
                           type(exc).__name__)
            response = message(500, "500 Internal Server Error")
        self._log_line = f"{self.command} {request.path} {response.status}"
        self._write(response, head=self.command == "HEAD")

    def _serve_streamed(self, path: str, query: str, fault: Any) -> None:
        """Like `_serve`, but the handler reads the body from `request.stream` as it arrives."""
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        try:
            length = 0 if chunked else int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._write(message(400, "400 Bad Request"))
            return
        request = self._request(path, query, b"")
        stream = _StreamedBody(self.rfile, chunked, length)
        request.stream = stream
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        try:
            response = self.server.app.handle(request, fault=fault, faults_checked=True)
            stream.drain()  # whatever the handler left unread, so the connection stays usable
        except _BadRequestBody:
            self.close_connection = True
            response = message(400, "400 Bad Request")
        except Exception as exc:  # the server must answer like GitLab, never drop the connection
            self.log_error("internal error on %s %s: %s", self.command, request.path, type(exc).__name__)
            self.close_connection = True
            response = message(500, "500 Internal Server Error")
        self._log_line = f"{self.command} {request.path} {response.status}"
        self._write(response)

    def _request(self, path: str, query: str, body: bytes) -> Request:
        return Request(
            method=self.command,
            path=path,
            query_string=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_ip=self.client_address[0],
        )

    def _drop(self, request: Request) -> None:
        """A "drop" fault: close the connection without answering."""
        self.server.app.request_log.record(request, None)
        self._log_line = f"{self.command} {request.path} dropped"
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, response: Response, *, head: bool = False) -> None:
        if response.file_path is not None:
            self._write_file(response, response.file_path, head=head)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        bodyless = response.status in (204, 304)
        if not bodyless:
            self.send_header("Content-Length", str(len(response.body)))
        # Headers and body in one send: one syscall and one segment instead of two, and the
        # client reads the whole answer at once.
        self.wfile.write(self._take_head() + (b"" if head or bodyless else response.body))
        self.wfile.flush()

    def _take_head(self) -> bytes:
        """The status line and headers `send_response`/`send_header` collected, plus the blank
        line that ends them (what `end_headers` would send on its own)."""
        buffered: list[bytes] = getattr(self, "_headers_buffer", [])
        self._headers_buffer: list[bytes] = []
        return b"".join(buffered) + b"\r\n"

    def _write_file(self, response: Response, file_path: str, *, head: bool) -> None:
        with open(file_path, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            if not head:
                self.wfile.flush()
                while block := source.read(1 << 20):
                    self.wfile.write(block)
        self.wfile.flush()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Only method, path and status: query strings may carry tokens.
        if self.server.log_requests:
            line = getattr(self, "_log_line", f"{self.command} - {code}")
            sys.stderr.write(f"{self.log_date_time_string()} {line}\n")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log_requests:
            sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: Coordinator,
        tls: ssl.SSLContext | None,
        log_requests: bool,
    ) -> None:
        self.app = app
        self.tls = tls
        self.log_requests = log_requests
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup that can stall; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            # The handshake runs in the connection's own thread (finish_request), so a slow
            # client cannot block the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(30)
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection resets and timeouts are normal for a test server; say nothing.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class CoordinatorServer:
    """A GitLab-compatible runner API server on `host:port`, state in `data_dir`.

    `start()` serves from a background thread; `stop()` shuts down and closes the database.
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_cert_file: str | Path | None = None,
        tls_key_file: str | Path | None = None,
        rate_limit: int = 0,
        rate_limit_period: int = 60,
        public_url: str | None = None,
        log_requests: bool = False,
        job_options: JobOptions | None = None,
        poll_interval: float = 0.5,
        default_project: bool = True,
    ) -> None:
        self.job_options = job_options or JobOptions()
        # How often serve_forever looks for a stop request: `stop()` waits up to this long.
        self.poll_interval = poll_interval
        self.default_project = default_project
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self._tls: ssl.SSLContext | None = None
        if tls_cert_file or tls_key_file:
            if not (tls_cert_file and tls_key_file):
                raise RunnerfleetError(
                    "coordinator: TLS needs both --tls-cert-file and --tls-key-file"
                )
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
            try:
                self._tls.load_cert_chain(str(tls_cert_file), str(tls_key_file))
            except (OSError, ssl.SSLError) as exc:
                raise RunnerfleetError(
                    f"coordinator: cannot load TLS certificate {tls_cert_file} / key "
                    f"{tls_key_file}: {exc.strerror or exc}; check both files are PEM and match"
                ) from None
        self._rate_limit = rate_limit
        self._rate_limit_period = rate_limit_period
        self._public_url = public_url
        self._log_requests = log_requests
        self.app: Coordinator | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state_path(self) -> Path:
        return self.data_dir / DB_NAME

    def start(self) -> CoordinatorServer:
        self.app = Coordinator(
            self.data_dir, rate_limit=self._rate_limit, rate_limit_period=self._rate_limit_period,
            job_options=self.job_options, default_project=self.default_project,
        )
        try:
            self._httpd = _HTTPServer((self.host, self.port), self.app, self._tls,
                                      self._log_requests)
        except OSError as exc:
            self.app.close()
            raise RunnerfleetError(
                f"coordinator: cannot listen on {self.host}:{self.port}: {exc.strerror or exc};"
                " pick another --listen address"
            ) from None
        self.port = int(self._httpd.server_address[1])
        self.app.base_url = self.url
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": self.poll_interval},
            name="coordinator-http", daemon=True,
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        if self._public_url:
            return self._public_url.rstrip("/")
        scheme = "https" if self._tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def admin_token(self) -> str:
        assert self.app is not None, "start() the server first"
        return self.app.admin_token

    @property
    def registration_token(self) -> str:
        assert self.app is not None, "start() the server first"
        return self.app.registration_token

    def stop(self) -> None:
        if self.app is not None:
            # Release held long polls first so their threads answer before the store closes.
            self.app.jobs.queues.close()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self.app is not None:
            self.app.close()
            self.app = None

    def __enter__(self) -> CoordinatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
