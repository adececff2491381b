"""Request lines and headers as clients really send them, over a raw socket to the coordinator."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from tests.fixtures.coordinator import RunningCoordinator


def _exchange(coordinator: RunningCoordinator, raw: bytes, *, answers: int = 1) -> list[bytes]:
    """Send `raw` at once, read `answers` answers (each framed by Content-Length)."""
    parts = urlsplit(coordinator.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(raw)
        data = b""
        out: list[bytes] = []
        while len(out) < answers:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                assert chunk, f"connection closed after {len(out)} answers: {data!r}"
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(rest) < length:
                rest += conn.recv(65536)
            out.append(head + b"\r\n\r\n" + rest[:length])
            data = rest[length:]
        return out


def _verify(token: str, *extra: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    body = b'{"token": "' + token.encode() + b'"}'
    return (b"POST /api/v4/runners/verify " + version + b"\r\nHost: x\r\n" + b"".join(extra)
            + b"content-TYPE: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def test_pipelined_requests_with_any_header_case_are_answered_in_order(
    coordinator: RunningCoordinator,
) -> None:
    first, second = _exchange(coordinator, _verify("bad-1") + _verify("bad-2"), answers=2)
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.1 403 ")
        assert b"\r\nX-Request-Id: " in answer


def test_a_folded_header_and_http_1_0_are_still_understood(coordinator: RunningCoordinator) -> None:
    folded = _verify("bad-3", b"X-Long: first part\r\n  second part\r\n")
    assert _exchange(coordinator, folded)[0].startswith(b"HTTP/1.1 403 ")
    old = _exchange(coordinator, _verify("bad-4", version=b"HTTP/1.0"))[0]
    assert old.startswith(b"HTTP/1.1 403 ")


def _until_closed(coordinator: RunningCoordinator, raw: bytes) -> bytes:
    parts = urlsplit(coordinator.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(raw)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def test_connection_close_ends_the_connection_after_the_answer(
    coordinator: RunningCoordinator,
) -> None:
    assert _until_closed(coordinator, _verify("bad-5", b"Connection: close\r\n")).startswith(
        b"HTTP/1.1 403 ")


def test_a_malformed_request_line_gets_the_standard_400_and_a_close(
    coordinator: RunningCoordinator,
) -> None:
    answer = _until_closed(coordinator, b"POST /api/v4/runners/verify HTTP/x.y\r\n\r\n")
    assert b"Error code: 400" in answer and b"Bad request version" in answer
