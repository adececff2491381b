"""Daemons reached by unix socket, by tcp:// with TLS client certificates, and by ssh:// through sshd."""

from __future__ import annotations

import contextlib
import io
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import docker as sdk
import pytest

from runnerfleet.executors.docker import DockerExecutorProvider, KillTimeouts
from tests.fixtures.tls import TestPKI
from tests.integration.build.helpers import World, payload
from tests.integration.docker.helpers import (
    NO_GIT,
    NOTHING_LEFT,
    build_test_image,
    docker_runner,
    job_resources,
    run_docker_job,
    start_docker_job,
)

pytestmark = pytest.mark.integration
LOCAL_SOCKET = "/var/run/docker.sock"


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def tls_daemon(docker_ready: None, test_pki: TestPKI) -> Iterator[str]:
    """tcp://127.0.0.1:<port>: TLS with required client certificates, forwarded to the local daemon."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(test_pki.server_cert, test_pki.server_key)
    context.load_verify_locations(test_pki.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            client = context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(LOCAL_SOCKET)
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join(60)
        client.close()
        upstream.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(None)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture
def client_certs(tmp_path: Path, test_pki: TestPKI) -> Path:
    """A DOCKER_CERT_PATH-style directory: ca.pem, cert.pem, key.pem."""
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(test_pki.ca_file, certs / "ca.pem")
    shutil.copy(test_pki.client_cert, certs / "cert.pem")
    shutil.copy(test_pki.client_key, certs / "key.pem")
    return certs


def test_an_explicit_unix_socket_host(world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, host=f"unix://{LOCAL_SOCKET}")
    result, log = run_docker_job(world, provider, ["echo over-the-socket"], runner=runner, variables=NO_GIT)
    assert result.state == "success", log
    assert "over-the-socket\n" in log


def test_tcp_with_tls_client_certificates_runs_jobs(
        world: World, provider: DockerExecutorProvider, tls_daemon: str, client_certs: Path) -> None:
    runner = docker_runner(world, host=tls_daemon, tls_verify=True, tls_cert_path=str(client_certs))
    result, log = run_docker_job(world, provider, ["echo over-tls", "cat README"], runner=runner)
    assert result.state == "success", log
    assert "over-tls\n" in log and "hello from the repo\n" in log
    assert job_resources(4242) == NOTHING_LEFT


def test_a_tls_job_can_be_canceled(world: World, provider: DockerExecutorProvider, tls_daemon: str,
                                   client_certs: Path) -> None:
    from tests.integration.docker.helpers import wait_until

    runner = docker_runner(world, host=tls_daemon, tls_verify=True, tls_cert_path=str(client_certs))
    body = payload(world, ["echo started", "sleep 300"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, runner)
    wait_until("the script to start", lambda: "started\n" in run.log)
    run.build.cancel(graceful=False)
    assert run.wait().state == "canceled"
    assert job_resources(4242) == NOTHING_LEFT


def test_missing_tls_files_are_named(world: World, provider: DockerExecutorProvider, tls_daemon: str,
                                     tmp_path: Path) -> None:
    runner = docker_runner(world, host=tls_daemon, tls_verify=True, tls_cert_path=str(tmp_path))
    body = payload(world, ["true"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, runner, preparation_retry_interval=0.01)
    result = run.wait()
    assert result.state == "failed" and result.failure_reason == "runner_system_failure"
    assert f"runners.docker.tls_cert_path {tmp_path}: missing {tmp_path}/ca.pem" in run.log


def test_an_unreachable_daemon_is_a_system_failure_naming_it(
        world: World, provider: DockerExecutorProvider) -> None:
    runner = docker_runner(world, host="tcp://127.0.0.1:1")
    body = payload(world, ["true"], variables=NO_GIT)
    run = start_docker_job(world, provider, body, runner, preparation_retry_interval=0.01)
    result = run.wait()
    assert result.state == "failed" and result.failure_reason == "runner_system_failure"
    assert ("Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?"
            in run.log)
    assert run.log.count("Preparation failed:") == 3


@pytest.fixture
def sshd(docker_ready: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An sshd container in front of the local docker socket; (ssh:// host, private key)."""
    image = build_test_image("sshd")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    client = sdk.from_env()
    container = client.containers.run(
        image, detach=True, ports={"22/tcp": ("127.0.0.1", None)},
        volumes={LOCAL_SOCKET: {"bind": "/var/run/docker.sock", "mode": "rw"}},
        labels={"runnerfleet-test": "sshd"})
    try:
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            data = Path(f"{key}.pub").read_bytes()
            info = tarfile.TarInfo("authorized_keys")
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
        container.put_archive("/root/.ssh", archive.getvalue())
        container.reload()
        port = int(container.ports["22/tcp"][0]["HostPort"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as probe:
                if probe.recv(4) == b"SSH-":
                    break
            time.sleep(0.1)
        yield f"ssh://root@127.0.0.1:{port}", key
    finally:
        container.remove(force=True)
        client.close()


def test_a_daemon_reached_over_ssh_runs_jobs(world: World, sshd: tuple[str, Path]) -> None:
    host, key = sshd
    provider = DockerExecutorProvider(
        kill_timeouts=KillTimeouts(graceful=3.0, force=2.0),
        ssh_options=["-i", str(key), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                     "-o", "LogLevel=ERROR"])
    try:
        runner = docker_runner(world, host=host)
        result, log = run_docker_job(world, provider, ["echo over-ssh", "cat README"], runner=runner)
        assert result.state == "success", log
        assert "over-ssh\n" in log and "hello from the repo\n" in log
        assert job_resources(4242) == NOTHING_LEFT
    finally:
        provider.close()


def test_ssh_refusing_the_key_says_what_ssh_answered(world: World, sshd: tuple[str, Path],
                                                     tmp_path: Path) -> None:
    host, _ = sshd
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    provider = DockerExecutorProvider(ssh_options=[
        "-i", str(other), "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null"])
    try:
        body = payload(world, ["true"], variables=NO_GIT)
        run = start_docker_job(world, provider, body, docker_runner(world, host=host),
                               preparation_retry_interval=0.01)
        result = run.wait()
        assert result.state == "failed" and result.failure_reason == "runner_system_failure"
        assert f"{host}: cannot reach the docker socket /var/run/docker.sock over SSH: " in run.log
        assert "Permission denied" in run.log
    finally:
        provider.close()
