"""Reach a docker daemon over SSH: an OpenSSH client forwards a local unix socket to the remote one.

`ssh://user@host[:port][/path/to/docker.sock]` (default remote socket /var/run/docker.sock).
The `ssh` client's own configuration applies (~/.ssh/config, keys, agent, known_hosts); extra
options (`-i key`, `-o ...`) can be given. BatchMode is on: a prompt would hang a runner.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from runnerfleet.errors import RunnerfleetError

DEFAULT_REMOTE_SOCKET = "/var/run/docker.sock"
START_TIMEOUT = 20.0


class SshTunnelError(RunnerfleetError):
    """The SSH forward to a remote docker socket could not be set up; says what ssh answered."""


@dataclass(frozen=True)
class SshTarget:
    host: str
    user: str = ""
    port: int = 0
    socket: str = DEFAULT_REMOTE_SOCKET

    @property
    def display(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"ssh://{user}{self.host}{port}"


def parse_ssh_host(url: str) -> SshTarget:
    """The parts of an `ssh://` docker host; raises SshTunnelError naming the key when malformed."""
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname:
        raise SshTunnelError(f'runners.docker.host "{url}": expected ssh://[user@]host[:port][/socket]')
    try:
        port = parts.port or 0
    except ValueError:
        raise SshTunnelError(f'runners.docker.host "{url}": the port is not a number') from None
    if parts.password:
        raise SshTunnelError(f"runners.docker.host {parts.scheme}://{parts.username}:***@{parts.hostname}: "
                             "passwords are not supported, use a key (ssh-agent or ~/.ssh/config)")
    return SshTarget(host=parts.hostname, user=parts.username or "", port=port,
                     socket=parts.path if parts.path not in ("", "/") else DEFAULT_REMOTE_SOCKET)


class SshTunnel:
    """A running `ssh -N -L <local.sock>:<remote.sock>`; `start()` returns the local socket path."""

    def __init__(self, target: SshTarget, *, options: list[str]) -> None:
        self.target = target
        self.options = list(options)
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: str | None = None

    def start(self) -> str:
        ssh = shutil.which("ssh")
        if ssh is None:
            raise SshTunnelError(f"{self.target.display}: the ssh client is not installed "
                                 "(install openssh-client to reach docker daemons over SSH)")
        self._dir = tempfile.mkdtemp(prefix="runnerfleet-docker-ssh-")
        local = os.path.join(self._dir, "docker.sock")
        argv = [ssh, "-N", "-T", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
                "-o", "StreamLocalBindUnlink=yes", "-o", "ServerAliveInterval=30",
                *self.options, "-L", f"{local}:{self.target.socket}"]
        if self.target.port:
            argv += ["-p", str(self.target.port)]
        if self.target.user:
            argv += ["-l", self.target.user]
        argv += ["--", self.target.host]
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(local):
                return local
            if self._proc.poll() is not None:
                assert self._proc.stderr is not None
                reason = self._proc.stderr.read().decode("utf-8", "replace").strip().splitlines()
                self.stop()
                last = reason[-1] if reason else f"ssh exited with status {self._proc.returncode}"
                raise SshTunnelError(f"{self.target.display}: cannot reach the docker socket "
                                     f"{self.target.socket} over SSH: {last}")
            time.sleep(0.02)
        self.stop()
        raise SshTunnelError(f"{self.target.display}: the SSH connection was not ready within "
                             f"{START_TIMEOUT:.0f} s")

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
