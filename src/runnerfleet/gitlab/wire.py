"""Keep-alive HTTP/1.1 exchanges with GitLab over direct connections, one `sendall` per request.

Why not httpx's transport for these: a job makes four or five small API calls, and going through
httpx's request/response models, httpcore's pool and h11's state machine costs ~350 µs of Python
per call, against ~40 µs for the socket work itself; with `concurrent = 8` that was a fifth of
the runner's CPU. This module does only what those calls need: a pool of idle keep-alive
connections (plain or TLS, never through a proxy: Transport uses httpx's transport then),
request head and body written at once, answers framed by Content-Length, chunked encoding or
the end of the connection. It behaves as httpcore does where that shows: an idle connection the
server closed (or that sent anything unasked) is not reused, idle ones expire after
`keepalive_expiry`, a failed write still reads the answer the server may have sent, and every
failure is raised as httpx's exception type chained to the OS error, so Transport turns it into
the same one-line message. Content-Encoding is decoded by httpx's Response, as before.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
import time

import httpx

_MAX_HEAD = 64 * 1024  # status line and headers of one answer
_JOIN_LIMIT = 64 * 1024  # a body up to this size is sent in the same write as the head
_RECV = 64 * 1024


class _Connection:
    """One socket and the bytes read from it but not yet used."""

    __slots__ = ("buffer", "idle_since", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.idle_since = 0.0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _reusable(conn: _Connection) -> bool:
    """An idle connection is usable while nothing is readable on it: no EOF, no stray bytes."""
    if conn.buffer:
        return False
    try:
        if isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending():
            return False
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class WirePool:
    """Direct keep-alive connections to one origin (`scheme://host:port`)."""

    def __init__(self, url: httpx.URL, *, ssl_context: ssl.SSLContext | None,
                 timeout: dict[str, float | None], max_idle: int = 100,
                 keepalive_expiry: float = 5.0) -> None:
        self._host = url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._host_header = url.netloc.decode("ascii")
        self._ssl = ssl_context
        self._timeout = timeout
        self._max_idle = max_idle
        self._expiry = keepalive_expiry
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._closed = False

    # -- connections -------------------------------------------------------------------------

    def _take(self) -> _Connection:
        now = time.monotonic()
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if now - conn.idle_since <= self._expiry and _reusable(conn):
                return conn
            conn.close()

    def _connect(self) -> _Connection:
        timeout = self._timeout.get("connect")
        try:
            sock = socket.create_connection((self._host, self._port), timeout)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=self._host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise httpx.ConnectError(str(exc)) from exc
        return _Connection(sock)

    def _give_back(self, conn: _Connection) -> None:
        now = conn.idle_since = time.monotonic()
        expired: list[_Connection] = []
        with self._lock:
            # The oldest idle connections are at the front: close those past their expiry, as
            # httpcore does on each request, instead of keeping their sockets until reused.
            while self._idle and now - self._idle[0].idle_since > self._expiry:
                expired.append(self._idle.pop(0))
            kept = not self._closed and len(self._idle) < self._max_idle
            if kept:
                self._idle.append(conn)
        for old in expired:
            old.close()
        if not kept:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # -- one exchange ------------------------------------------------------------------------

    def exchange(self, method: str, target: bytes, headers: list[tuple[str, str]],
                 body: bytes | None) -> httpx.Response:
        """Send one request, read its whole answer; the body is left encoded for httpx to decode."""
        head = self._head(method, target, headers, body)
        conn = self._take()
        keep = False
        try:
            self._send(conn, head, body)
            status, reason, raw_headers, content, keep = self._receive(conn, method)
        finally:
            if keep:
                self._give_back(conn)
            else:
                conn.close()
        response = httpx.Response(
            status, headers=raw_headers, stream=httpx.ByteStream(content),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )
        response.read()  # decodes Content-Encoding as httpx does
        return response

    def _head(self, method: str, target: bytes, headers: list[tuple[str, str]],
              body: bytes | None) -> bytes:
        lines = [f"{method} {target.decode('ascii')} HTTP/1.1", f"Host: {self._host_header}"]
        for name, value in headers:
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise httpx.LocalProtocolError(f"Illegal header {name!r}")
            lines.append(f"{name}: {value}")
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0")
        lines.append("\r\n")
        try:
            return "\r\n".join(lines).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise httpx.LocalProtocolError(f"header not encodable: {exc}") from None

    def _send(self, conn: _Connection, head: bytes, body: bytes | None) -> None:
        try:
            conn.sock.settimeout(self._timeout.get("write"))
            if body and len(body) > _JOIN_LIMIT:
                conn.sock.sendall(head)
                conn.sock.sendall(body)
            else:
                conn.sock.sendall(head + body if body else head)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "timed out") from exc
        except OSError:
            # As httpcore: the server may have answered before it stopped reading (an error
            # status, or a close); the answer, or the lack of one, is what gets reported.
            pass

    def _fill(self, conn: _Connection) -> bool:
        """Read more into the buffer; False at the end of the connection."""
        try:
            data = conn.sock.recv(_RECV)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        if not data:
            return False
        conn.buffer += data
        return True

    def _receive(self, conn: _Connection, method: str
                 ) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
        conn.sock.settimeout(self._timeout.get("read"))
        while True:
            status, reason, version, headers = self._read_head(conn)
            if status >= 200 or status == 101:
                break  # 1xx interim answers (100 Continue, 103 Early Hints) are skipped
        values: dict[bytes, bytes] = {}
        for name, value in headers:
            values[name.lower()] = value  # only framing headers are read here
        close = b"close" in values.get(b"connection", b"").lower() or version != b"HTTP/1.1"
        if method == "HEAD" or status in (204, 304) or status < 200:
            return status, reason, headers, b"", not close
        if b"chunked" in values.get(b"transfer-encoding", b"").lower():
            return status, reason, headers, self._read_chunked(conn), not close
        length = values.get(b"content-length")
        if length is not None:
            try:
                size = int(length)
            except ValueError:
                raise httpx.RemoteProtocolError("malformed Content-Length header") from None
            return status, reason, headers, self._read_exactly(conn, size), not close
        # No framing: the body ends with the connection.
        while self._fill(conn):
            pass
        content = bytes(conn.buffer)
        conn.buffer.clear()
        return status, reason, headers, content, False

    def _read_head(self, conn: _Connection
                   ) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        start = 0
        while True:
            end = conn.buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                break
            if len(conn.buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("the answer's headers are too long")
            start = max(0, len(conn.buffer) - 3)
            had = bool(conn.buffer)
            if not self._fill(conn):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                    if had else "Server disconnected without sending a response.")
        block = bytes(conn.buffer[:end])
        del conn.buffer[:end + 4]
        lines = block.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:100]!r}")
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else b""
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name != name.strip():
                raise httpx.RemoteProtocolError(f"malformed header line {line[:100]!r}")
            headers.append((name, value.strip()))
        return status, reason, parts[0], headers

    def _read_exactly(self, conn: _Connection, size: int) -> bytes:
        while len(conn.buffer) < size:
            if not self._fill(conn):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body")
        content = bytes(conn.buffer[:size])
        del conn.buffer[:size]
        return content

    def _read_line(self, conn: _Connection) -> bytes:
        while (end := conn.buffer.find(b"\r\n")) < 0:
            if len(conn.buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("a chunk header is too long")
            if not self._fill(conn):
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body")
        line = bytes(conn.buffer[:end])
        del conn.buffer[:end + 2]
        return line

    def _read_chunked(self, conn: _Connection) -> bytes:
        pieces: list[bytes] = []
        while True:
            size_text = self._read_line(conn).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"malformed chunk size {size_text[:20]!r}") from None
            if size == 0:
                while self._read_line(conn):  # trailers, up to the blank line
                    pass
                return b"".join(pieces)
            pieces.append(self._read_exactly(conn, size))
            if self._read_line(conn):
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
