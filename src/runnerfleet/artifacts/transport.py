"""The helpers' own HTTP client (stdlib only): TLS from the job's environment, proxies, streamed bodies.

The helper commands run where the job runs and must start fast, so they do not load the engine's
httpx client. Like gitlab-runner's helper client this one trusts the system store plus
`CI_SERVER_TLS_CA_FILE` and `<certs dir>/<host>.crt`, presents `CI_SERVER_TLS_CERT_FILE`/
`KEY_FILE` when both exist, honours HTTP(S)_PROXY/NO_PROXY (never for loopback), and streams
request bodies (chunked when their length is unknown) and response bodies into files.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    # Loaded when a request is made: local-only cache helpers never pay for ssl/http.client.
    import http.client
    import ssl

COPY_BLOCK = 1 << 20
ERROR_BODY_LIMIT = 64 * 1024
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


class TransportError(Exception):
    """No HTTP answer: connection, TLS, proxy or timeout failure. One line naming the clean URL."""


class BodyError(Exception):
    """The request body could not be produced (a file to archive could not be read)."""


class _SendError(Exception):
    def __init__(self, cause: OSError) -> None:
        super().__init__(str(cause))
        self.cause = cause


def clean_url(url: str) -> str:
    """The URL without credentials and query (pre-signed signatures, tokens), for log lines."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def default_certs_dir() -> str:
    """gitlab-runner's default certificate directory for this user."""
    if os.geteuid() == 0:
        return "/etc/gitlab-runner/certs"
    home = os.environ.get("HOME", "")
    return os.path.join(home, ".gitlab-runner", "certs") if home else "certs"


def ssl_context(host: str, env: Mapping[str, str]) -> ssl.SSLContext:
    import ssl

    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    for ca in (env.get("CI_SERVER_TLS_CA_FILE", ""), os.path.join(default_certs_dir(), f"{host}.crt")):
        if ca and os.path.isfile(ca):
            try:
                ctx.load_verify_locations(cafile=ca)
            except (ssl.SSLError, OSError) as exc:
                raise TransportError(f"cannot load CA file {ca}: {exc}; check it is a PEM certificate") \
                    from None
    cert, key = env.get("CI_SERVER_TLS_CERT_FILE", ""), env.get("CI_SERVER_TLS_KEY_FILE", "")
    if cert and key and os.path.isfile(cert) and os.path.isfile(key):
        try:
            ctx.load_cert_chain(cert, key)
        except (ssl.SSLError, OSError) as exc:
            raise TransportError(f"cannot load client certificate {cert}: {exc}") from None
    return ctx


def _proxy_for(url: str, env: Mapping[str, str]) -> str | None:
    if not any(env.get(name) for name in _PROXY_VARS):
        return None
    # Loaded only when a proxy is configured: it brings the engine's client package with it.
    from runnerfleet.gitlab.proxy import proxy_for_url

    choice = proxy_for_url(url, env)
    return choice.url if choice is not None else None


@dataclass
class Response:
    """Status, headers (lower-case names) and — for answers not streamed into a file — the body."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}".strip()

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


class _ChunkedSink:
    """File-like writer sending each write as one HTTP/1.1 chunk."""

    def __init__(self, conn: http.client.HTTPConnection, deadline: float) -> None:
        self._conn = conn
        self._deadline = deadline
        self.sent = 0

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        if time.monotonic() > self._deadline:
            raise _SendError(TimeoutError("upload took longer than its timeout"))
        try:
            # One write per chunk: size line, data and CRLF leave in the same segments.
            self._conn.send(b"".join((b"%x\r\n" % len(data), data, b"\r\n")))
        except OSError as exc:
            raise _SendError(exc) from None
        self.sent += len(data)
        return len(data)


BodyWriter = Callable[[_ChunkedSink], None]


class HttpClient:
    """One request at a time, a fresh connection per request (helpers make only a few)."""

    def __init__(self, *, timeout: float = 3600.0, response_header_timeout: float = 600.0,
                 env: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self.response_header_timeout = response_header_timeout
        self.env = dict(os.environ if env is None else env)

    def _connect(self, url: str) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
        import http.client

        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"{clean_url(url)}: not an http(s) URL")
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        proxy = _proxy_for(url, self.env)
        timeout = min(self.timeout, self.response_header_timeout)
        conn: http.client.HTTPConnection
        if proxy is None:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout,
                                                   context=ssl_context(parts.hostname, self.env))
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
            return conn, target, {}
        p = urlsplit(proxy)
        headers: dict[str, str] = {}
        if p.username is not None:
            creds = f"{p.username}:{p.password or ''}".encode()
            headers["Proxy-Authorization"] = "Basic " + base64.b64encode(creds).decode()
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(p.hostname or "", p.port or 80, timeout=timeout,
                                               context=ssl_context(parts.hostname, self.env))
            conn.set_tunnel(parts.hostname, parts.port or 443, headers=headers)
            return conn, target, {}
        conn = http.client.HTTPConnection(p.hostname or "", p.port or 80, timeout=timeout)
        # Plain HTTP through a proxy: absolute URI, credentials on the request.
        return conn, urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path or "/",
                                 parts.query, "")), headers

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | BinaryIO | BodyWriter | None = None,
        content_length: int | None = None,
        into: BinaryIO | None = None,
        accept_into: Callable[[Response], bool] = lambda r: r.status == 200,
    ) -> Response:
        """Send one request; a callable body is streamed chunked, a file body with `content_length`.

        When `into` is given and `accept_into(response)` holds, the response body is copied into
        it instead of being kept. TransportError for every failure to get an answer.
        """
        import http.client
        import socket
        import ssl

        deadline = time.monotonic() + self.timeout
        conn, target, proxy_headers = self._connect(url)
        try:
            try:
                conn.connect()
                if conn.sock is not None:
                    # Small writes (chunk ends, the last chunk) must not wait for delayed ACKs.
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.putrequest(method, target, skip_accept_encoding=True)
                all_headers = {"User-Agent": "gitlab-runner-helper (runnerfleet)", **(headers or {}),
                               **proxy_headers}
                if callable(body):
                    all_headers["Transfer-Encoding"] = "chunked"
                elif isinstance(body, bytes):
                    all_headers["Content-Length"] = str(len(body))
                elif body is not None:
                    all_headers["Content-Length"] = str(content_length or 0)
                for name, value in all_headers.items():
                    conn.putheader(name, value)
                conn.endheaders()
                if callable(body):
                    try:
                        body(_ChunkedSink(conn, deadline))
                    except _SendError as exc:
                        raise exc.cause from None
                    except OSError as exc:
                        name = f"{exc.filename}: " if exc.filename else ""
                        raise BodyError(f"{name}{exc.strerror or exc}") from None
                    conn.send(b"0\r\n\r\n")
                elif isinstance(body, bytes):
                    conn.send(body)
                elif body is not None:
                    while block := body.read(COPY_BLOCK):
                        conn.send(block)
                answer = conn.getresponse()
            except (BrokenPipeError, ConnectionResetError) as exc:
                # The server may have answered early (e.g. 413) and closed; its answer wins.
                answer = self._late_answer(conn, url, exc)
            result = Response(answer.status, answer.reason,
                              {k.lower(): v for k, v in answer.getheaders()}, url=url)
            if conn.sock is not None:
                conn.sock.settimeout(min(self.timeout, max(deadline - time.monotonic(), 1.0)))
            if into is not None and accept_into(result):
                while block := answer.read(COPY_BLOCK):
                    if time.monotonic() > deadline:
                        raise TimeoutError("download took longer than its timeout")
                    into.write(block)
            else:
                result.body = answer.read(ERROR_BODY_LIMIT)
            return result
        except (TransportError, BodyError):
            raise
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(f"{method} {clean_url(url)}: TLS certificate verification failed "
                                 f"({exc.verify_message}); add the CA to CI_SERVER_TLS_CA_FILE or "
                                 f"{default_certs_dir()}") from None
        except (OSError, http.client.HTTPException) as exc:
            text = str(exc) or type(exc).__name__
            if isinstance(exc, socket.timeout | TimeoutError):
                text = f"timeout: {text}"
            raise TransportError(f"{method} {clean_url(url)}: {text}") from None
        finally:
            conn.close()

    @staticmethod
    def _late_answer(conn: http.client.HTTPConnection, url: str,
                     exc: OSError) -> http.client.HTTPResponse:
        import http.client

        try:
            return conn.getresponse()
        except (OSError, http.client.HTTPException):
            raise TransportError(f"{clean_url(url)}: connection lost while sending ({exc})") from None
