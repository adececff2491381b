"""The direct HTTP/1.1 path of the GitLab client against a real socket server on loopback.

The server answers each request with bytes a test chooses, so the framings GitLab and the proxies
in front of it use (Content-Length, chunked, end of connection, gzip) and a server that closes or
drops a connection are all exercised with the client's real sockets.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from runnerfleet.errors import TransportError
from runnerfleet.gitlab import GitLabClient

Answer = Callable[[bytes], bytes | None]  # request bytes -> answer bytes (None: drop the connection)


class RawServer:
    """Accepts connections and answers every request with `answer(request)`; counts connections."""

    def __init__(self, answer: Answer, *, close_after_answer: bool = False) -> None:
        self.answer = answer
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.closed = threading.Semaphore(0)  # released each time the server closed a connection
        self.requests: list[bytes] = []
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve_then_count, args=(conn,), daemon=True).start()

    def _serve_then_count(self, conn: socket.socket) -> None:
        try:
            self._serve(conn)
        finally:
            self.closed.release()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
                self.requests.append(request)
                answer = self.answer(request)
                if answer is None:
                    return
                conn.sendall(answer)
                if self.close_after_answer:
                    return

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(answer: Answer, **kw: bool) -> RawServer:
        server = RawServer(answer, **kw)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _json_answer(body: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: application/json",
            b"Content-Length: " + str(len(body)).encode(), *extra]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def test_calls_share_one_keep_alive_connection_and_send_length_framed_bodies(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda _: _json_answer(b'{"ok": true}'))
    with GitLabClient(server.url) as client:
        for _ in range(3):
            response = client.request("PUT", "jobs/1", json={"state": "running"})
            assert response.json() == {"ok": True}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"PUT /api/v4/jobs/1 HTTP/1.1\r\n")
    assert b"\r\nContent-Length: 20\r\n" in first and first.endswith(b'\r\n\r\n{"state": "running"}')
    assert b"\r\nHost: 127.0.0.1:" in first


def test_a_chunked_gzip_answer_is_read_whole_and_decoded(serve: Callable[..., RawServer]) -> None:
    packed = gzip.compress(b'{"id": 7, "token": "abc"}')
    chunks = b"".join(b"%x\r\n" % len(part) + part + b"\r\n" for part in (packed[:10], packed[10:]))
    answer = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
              b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
    server = serve(lambda _: answer)
    with GitLabClient(server.url) as client:
        response = client.request("POST", "jobs/request", json={})
        assert (response.status_code, response.reason_phrase) == (201, "Created")
        assert response.json() == {"id": 7, "token": "abc"}
        assert client.request("POST", "jobs/request", json={}).json()["id"] == 7
    assert server.connections == 1


def test_an_answer_ended_by_closing_the_connection_is_read_and_the_next_call_reconnects(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(lambda _: b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n200",
                   close_after_answer=True)
    with GitLabClient(server.url) as client:
        assert client.request("PUT", "jobs/2", json={}).text == "200"
        assert client.request("PUT", "jobs/2", json={}).text == "200"
    assert server.connections == 2


def test_an_idle_connection_the_server_closed_is_not_reused(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda _: _json_answer(b"{}"), close_after_answer=True)
    with GitLabClient(server.url) as client:
        for _ in range(3):
            # The answer says keep-alive, then the server closes the idle connection (as a
            # keep-alive timeout does): the next call must take a new one, not fail.
            assert client.request("PUT", "jobs/3", json={}).status_code == 200
            assert server.closed.acquire(timeout=30)
    assert server.connections == 3


def test_a_dropped_connection_is_one_line_naming_the_call(serve: Callable[..., RawServer]) -> None:
    server = serve(lambda _: None)
    with GitLabClient(server.url) as client, pytest.raises(TransportError) as caught:
        client.request("PATCH", "jobs/4/trace", content=b"log")
    message = str(caught.value)
    assert message.startswith(f"PATCH {server.url}api/v4/jobs/4/trace: ")
    assert "\n" not in message and "disconnected" in message


def test_a_refused_connection_says_where_and_what_to_check() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with GitLabClient(f"http://127.0.0.1:{port}/") as client, \
            pytest.raises(TransportError) as caught:
        client.request("POST", "jobs/request", json={})
    assert f"cannot connect to 127.0.0.1:{port} (Connection refused)" in str(caught.value)


def test_an_expired_idle_connection_is_closed_not_kept(serve: Callable[..., RawServer]) -> None:
    import httpx

    from runnerfleet.gitlab.wire import WirePool

    server = serve(lambda _: _json_answer(b"{}"))
    pool = WirePool(httpx.URL(server.url), ssl_context=None,
                    timeout={"connect": 30.0, "read": 30.0, "write": 30.0},
                    keepalive_expiry=0.0)
    try:
        for _ in range(2):
            assert pool.exchange("GET", b"/api/v4/x", [], None).status_code == 200
        # The first connection had expired: it was closed (the server saw it), not reused.
        assert server.closed.acquire(timeout=30)
        assert server.connections == 2
    finally:
        pool.close()
