"""Serving: keep-alive, chunked bodies, TLS, rate limiting, restarts, signals, Python API."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from runnerfleet.coordinator import CoordinatorServer
from tests.fixtures.coordinator import RunningCoordinator, start_coordinator

Start = Callable[..., RunningCoordinator]


def _host_port(url: str) -> tuple[str, int]:
    hostport = url.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


def test_keep_alive_serves_several_requests_on_one_connection(
    coordinator: RunningCoordinator,
) -> None:
    host, port = _host_port(coordinator.url)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.connect()
        sock = conn.sock
        statuses = []
        for _ in range(3):
            conn.request("POST", "/api/v4/runners/verify", body=json.dumps({"token": "nope"}),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            statuses.append((resp.status, json.loads(resp.read())))
            assert resp.version == 11
        assert conn.sock is sock  # the same TCP connection answered all three
        assert statuses == [(403, {"message": "403 Forbidden"})] * 3
    finally:
        conn.close()


def test_chunked_request_body_is_read_completely(
    coordinator: RunningCoordinator, api: httpx.Client
) -> None:
    payload = json.dumps({"token": coordinator.registration_token,
                          "description": "x" * 1000, "maintenance_note": "y" * 1000}).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(payload), 700):
            yield payload[i:i + 700]

    r = api.post("/runners", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201
    log = coordinator.requests_log()
    assert log[-1]["headers"]["transfer-encoding"] == "chunked"
    assert log[-1]["json"]["maintenance_note"] == "y" * 1000
    # The connection stays usable after a chunked request.
    assert api.post("/runners/verify", json={"token": r.json()["token"]}).status_code == 200


def test_tls_serving_with_a_certificate_made_by_openssl(tmp_path: Path, start: Start) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    running = start("--tls-cert-file", str(cert), "--tls-key-file", str(key),
                    ca_file=str(cert))
    assert running.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=running.url, verify=context, trust_env=False) as c:
        r = c.post("/api/v4/runners", json={"token": running.registration_token})
        assert r.status_code == 201
        assert r.headers["content-type"] == "application/json"
    with httpx.Client(base_url=running.url, trust_env=False) as c, pytest.raises(
        httpx.ConnectError
    ):
        c.get("/api/v4/runners/all")  # the system CAs do not know this certificate
    # Plain HTTP to the TLS port gets no API answer.
    host, port = _host_port(running.url)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{host}:{port}/api/v4/runners/all", trust_env=False, timeout=5)


def test_restart_keeps_tokens_and_runners(tmp_path: Path, start: Start) -> None:
    data_dir = tmp_path / "state"
    first = start(data_dir=data_dir)
    created = first.create_runner()
    with httpx.Client(base_url=first.url, trust_env=False) as c:
        legacy = c.post("/api/v4/runners", json={"token": first.registration_token}).json()
        c.post("/api/v4/runners/verify", json={"token": created["token"], "system_id": "s_a"})
    first.stop()
    assert first.process.returncode == 0

    second = start(data_dir=data_dir)
    assert second.admin_token == first.admin_token
    assert second.registration_token == first.registration_token
    with httpx.Client(base_url=second.url, trust_env=False,
                      headers={"PRIVATE-TOKEN": second.admin_token}) as c:
        for token in (created["token"], legacy["token"]):
            assert c.post("/api/v4/runners/verify", json={"token": token}).status_code == 200
        managers = c.get(f"/api/v4/runners/{created['id']}/managers").json()
        assert [m["system_id"] for m in managers] == ["s_a", "<legacy>"]
    assert (data_dir.stat().st_mode & 0o777) == 0o700
    assert any(line == f"state: {data_dir}/coordinator.sqlite3" for line in second.output)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_cleanly_with_exit_0(start: Start, signum: int) -> None:
    running = start()
    running.process.send_signal(signum)
    assert running.process.wait(timeout=15) == 0


def test_secrets_never_appear_in_server_output(start: Start) -> None:
    running = start("--log-requests")
    created = running.create_runner()
    with httpx.Client(base_url=running.url, trust_env=False) as c:
        c.post("/api/v4/runners/verify", json={"token": created["token"]},
               headers={"RUNNER-TOKEN": created["token"]})
        c.get(f"/api/v4/runners/all?private_token={running.admin_token}")
    running.stop()
    text = "\n".join(running.output)
    assert "POST /api/v4/runners/verify 200" in text
    assert "GET /api/v4/runners/all 200" in text
    assert created["token"] not in text
    # The admin token is printed once at start (by design) and nowhere else.
    assert text.count(running.admin_token) == 1


def _wait_for_fresh_window(period: int) -> None:
    """Sleep until a rate-limit window has just begun, so a burst stays inside one window."""
    time.sleep(period - time.time() % period + 0.05)


def test_rate_limit_answers_429_with_rack_attack_headers_then_resets(start: Start) -> None:
    period = 3
    running = start("--rate-limit", "2", "--rate-limit-period", str(period))
    with httpx.Client(base_url=running.url + "/api/v4", trust_env=False) as c:
        _wait_for_fresh_window(period)
        ok = [c.post("/runners/verify", json={"token": "x"}) for _ in range(2)]
        limited = c.post("/runners/verify", json={"token": "x"})
        assert [r.status_code for r in ok] == [403, 403]
        assert ok[0].headers["ratelimit-remaining"] == "1"
        assert "retry-after" not in ok[0].headers
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "text/plain"
        assert limited.text == "Retry later\n"
        h = limited.headers
        assert h["ratelimit-name"] == "throttle_unauthenticated_api"
        assert h["ratelimit-limit"] == str(2 * 60 // period)
        assert (h["ratelimit-observed"], h["ratelimit-remaining"]) == ("3", "0")
        reset = int(h["ratelimit-reset"])
        assert reset % period == 0
        assert parsedate_to_datetime(h["ratelimit-resettime"]).timestamp() == reset
        assert h["ratelimit-resettime"].endswith(" GMT")
        assert 1 <= int(h["retry-after"]) <= period
        assert h["x-request-id"]

        authed = c.get("/runners/all", headers={"PRIVATE-TOKEN": running.admin_token})
        assert authed.status_code == 429
        assert authed.headers["ratelimit-name"] == "throttle_authenticated_api"

        time.sleep(max(0.0, reset - time.time()) + 0.05)
        assert c.post("/runners/verify", json={"token": "x"}).status_code == 403
    # Test hooks are not API requests: they are never throttled.
    with running._admin() as admin:
        assert admin.get("/-/requests").status_code == 200
        assert [e["status"] for e in admin.get("/-/requests").json()][-1] == 403


def test_python_api_serves_in_process(tmp_path: Path) -> None:
    with CoordinatorServer(tmp_path / "inproc") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.admin_token.startswith("glpat-")
        assert server.registration_token.startswith("GR1348941")
        r = httpx.post(server.url + "/api/v4/runners",
                       json={"token": server.registration_token}, trust_env=False)
        assert r.status_code == 201
    with socket.socket() as s:
        # After stop() the port is free again.
        s.bind(("127.0.0.1", server.port))
    with CoordinatorServer(tmp_path / "inproc") as again:
        r = httpx.post(again.url + "/api/v4/runners/verify",
                       json={"token": r.json()["token"]}, trust_env=False)
        assert r.status_code == 200


def test_bad_listen_address_is_a_one_line_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "runnerfleet.coordinator", "--listen", "localhost",
         "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "runnerfleet coordinator: --listen 'localhost' is not HOST:PORT (e.g. 127.0.0.1:8080)")


def test_busy_port_is_reported_without_traceback(coordinator: RunningCoordinator,
                                                 tmp_path: Path) -> None:
    host, port = _host_port(coordinator.url)
    proc = subprocess.run(
        [sys.executable, "-m", "runnerfleet.coordinator", "--listen", f"{host}:{port}",
         "--data-dir", str(tmp_path / "other")],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"cannot listen on {host}:{port}" in proc.stderr


def test_runnerfleet_cli_dispatches_to_the_coordinator(tmp_path: Path) -> None:
    """The shared fixture's route: `python -m runnerfleet coordinator ...`."""
    running = start_coordinator(tmp_path / "via-cli")
    try:
        token = running.create_runner()["token"]
        with httpx.Client(base_url=running.url, trust_env=False) as c:
            assert c.post("/api/v4/runners/verify", json={"token": token}).status_code == 200
    finally:
        running.stop()


def test_concurrent_registrations_each_get_their_own_runner(
    coordinator: RunningCoordinator,
) -> None:
    def register(_: int) -> tuple[int, int, str]:
        with httpx.Client(base_url=coordinator.url, trust_env=False, timeout=30) as c:
            r = c.post("/api/v4/runners", json={"token": coordinator.registration_token})
            return r.status_code, r.json()["id"], r.json()["token"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(register, range(48)))
    assert {status for status, _, _ in results} == {201}
    assert len({runner_id for _, runner_id, _ in results}) == 48
    assert len({token for _, _, token in results}) == 48
