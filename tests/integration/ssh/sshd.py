"""Real sshd servers in containers of the test image, published on 127.0.0.1 (testworld §6)."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

IMAGE = "runnerfleet-test/debian-systemd:bookworm"
REPO_ROOT = Path(__file__).resolve().parents[3]
LABEL = "runnerfleet-test=ssh"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True, timeout=timeout)


def ensure_test_image() -> None:
    """Start dockerd and build the test image when missing (the testworld scripts are idempotent)."""
    ready = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0
    if ready:
        return
    for script in ("dockerd.sh", "images.sh"):
        done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "testworld" / script)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"testworld {script} failed: {done.stderr.strip()[-2000:]}")


def wait_for_banner(port: int, limit: float = 30.0) -> None:
    """Until sshd answers on 127.0.0.1:port (docker-proxy accepts before sshd is up)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.settimeout(2)
                if sock.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"sshd on 127.0.0.1:{port} did not answer within {limit} s")


@dataclass
class KeyPair:
    private_path: Path
    public_line: str


def make_key(directory: Path, name: str = "id_test") -> KeyPair:
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = directory / name
    key.write_private_key(str(path))
    path.chmod(0o600)
    return KeyPair(path, key.export_public_key().decode().strip())


@dataclass
class SshdContainer:
    """One container running sshd; root takes `key`, user `ci` takes password `ci_password`."""

    name: str
    port: int
    ci_password: str

    @property
    def host_key_line(self) -> str:
        """The container's ED25519 host key as a known_hosts line for 127.0.0.1:port."""
        pub = self.exec("cat /etc/ssh/ssh_host_ed25519_key.pub").split()
        return f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}"

    def exec(self, command: str, check: bool = True) -> str:
        return docker("exec", self.name, "sh", "-c", command, check=check).stdout

    def processes(self) -> list[str]:
        """Command lines of every process in the container except sshd's and this `ps` (and its `sh`)."""
        lines = self.exec("ps -eo args=").splitlines()
        return [line for line in lines
                if line and not line.startswith(("sshd", "/usr/sbin/sshd", "ps ", "sh -c ps -eo args="))]

    def wait_for_processes_gone(self, fragment: str, limit: float = 15.0) -> list[str]:
        """Processes whose command line contains `fragment`, once none are left (or at the limit)."""
        end = time.monotonic() + limit
        left = [p for p in self.processes() if fragment in p]
        while left and time.monotonic() < end:
            time.sleep(0.1)
            left = [p for p in self.processes() if fragment in p]
        return left

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)


def start_sshd(key: KeyPair, *, mounts: Sequence[Path] = (), ci_password: str = "s3cret-ci") -> SshdContainer:
    name = f"rf-ssh-{uuid.uuid4().hex[:10]}"
    setup = " && ".join([
        "mkdir -p /run/sshd -m 755",
        "mkdir -p -m 700 /root/.ssh",
        f"echo '{key.public_line}' > /root/.ssh/authorized_keys",
        "useradd -m -s /bin/bash ci",
        # Debian's skeleton .bash_logout fails in non-interactive logins (gitlab-runner's docs).
        "rm -f /home/ci/.bash_logout",
        f"echo 'ci:{ci_password}' | chpasswd",
        "exec /usr/sbin/sshd -D -e -o PasswordAuthentication=yes",
    ])
    volumes: list[str] = []
    for mount in mounts:
        volumes += ["-v", f"{mount}:{mount}:ro"]
    docker("run", "-d", "--name", name, "--label", LABEL, "-p", "127.0.0.1::22", *volumes, IMAGE,
           "sh", "-c", setup)
    published = docker("port", name, "22/tcp").stdout.split()[0]
    port = int(published.rsplit(":", 1)[1])
    container = SshdContainer(name, port, ci_password)
    try:
        wait_for_banner(port)
    except AssertionError:
        logs = docker("logs", name, check=False)
        container.remove()
        raise AssertionError(f"sshd container did not start: {logs.stdout}{logs.stderr}") from None
    return container
