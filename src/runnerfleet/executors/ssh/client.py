"""An SSH connection driven from blocking code: log in with retries, run one command at a time.

gitlab-runner's `helpers/ssh`: password always offered, the identity file when configured, strict
host key checking against known_hosts unless disabled, 3 connection attempts 3 s apart. A command
gets the script on stdin and streams stdout/stderr; a timeout or cancel sends the SSH `KILL`
signal (OpenSSH's sshd delivers it to the command's whole process group) and closes the session.
asyncssh runs on a private event loop thread per client; keep-alives notice a silent peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import asyncssh

from runnerfleet.errors import RunnerfleetError
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.ssh.hostkeys import has_entry, host_key_error, load_known_hosts
from runnerfleet.executors.ssh.loop import LoopThread
from runnerfleet.executors.ssh.settings import SshTarget, config_error

CONNECT_RETRIES = 3
RETRY_INTERVAL = 3.0
CONNECT_TIMEOUT = 30.0
KEEPALIVE_INTERVAL = 30.0
KEEPALIVE_COUNT_MAX = 3
KILL_WAIT = 10.0
# How often a running command looks at the cancel event; bounds the cancel latency.
POLL_INTERVAL = 0.05

# Kills the process groups of the other commands of this connection: sshd runs every command of a
# connection as a child of the same session process ($PPID here), each in its own session (setsid).
# Needed because sshd ignores the SSH `signal` request for root logins (no privilege separation).
KILL_SIBLINGS = ('ps -A -o ppid= -o pgid= | while read ppid pgid; do '
                 'if [ "$ppid" = "$PPID" ] && [ "$pgid" != "$$" ]; then kill -KILL -- "-$pgid"; fi; done')

# asyncssh logs every connection at INFO; a runner's log should only carry what goes wrong.
logging.getLogger("asyncssh").setLevel(logging.WARNING)

# Go's x/crypto/ssh numbers for exit signals (exit status = 128 + number, as gitlab-runner reports).
_SIGNAL_NUMBERS = {"ABRT": 6, "ALRM": 14, "FPE": 8, "HUP": 1, "ILL": 4, "INT": 2, "KILL": 9, "PIPE": 13,
                   "QUIT": 3, "SEGV": 11, "TERM": 15, "USR1": 10, "USR2": 12}


class OutputSink(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass(frozen=True)
class SshOptions:
    """Connection behaviour (gitlab-runner's values by default; tests shorten the waits)."""

    connect_retries: int = CONNECT_RETRIES
    retry_interval: float = RETRY_INTERVAL
    connect_timeout: float = CONNECT_TIMEOUT
    keepalive_interval: float = KEEPALIVE_INTERVAL
    keepalive_count_max: int = KEEPALIVE_COUNT_MAX
    kill_wait: float = KILL_WAIT


class SshConnectError(RunnerfleetError):
    """No SSH connection could be made (refused, timed out, reset): worth another try later."""


@dataclass(frozen=True)
class RemoteOutcome:
    """How a remote command ended.

    `exit_code`: its exit status (128 + signal number when a signal ended it), None when unknown;
    `status`: x/crypto/ssh's text for it ("Process exited with status 3"); `error`: why the end is
    unknown (connection lost, session refused); `timed_out`/`canceled`: why it was killed.
    """

    exit_code: int | None
    status: str = ""
    error: str = ""
    timed_out: bool = False
    canceled: bool = False


class _Session(asyncssh.SSHClientSession[bytes]):
    """Streams a command's output to the sinks and records how it ended."""

    def __init__(self, stdout: OutputSink, stderr: OutputSink, done: asyncio.Future[None]) -> None:
        self._stdout, self._stderr, self._done = stdout, stderr, done
        self.exit_status: int | None = None
        self.exit_signal = ""
        self.signal_message = ""
        self.lost: Exception | None = None

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        (self._stderr if datatype == asyncssh.EXTENDED_DATA_STDERR else self._stdout).write(data)

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_signal, self.signal_message = signal, msg

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc
        if not self._done.done():
            self._done.set_result(None)


class _KeyWitness(asyncssh.SSHClient):
    """Remembers the host key the server offered when known_hosts did not trust it."""

    def __init__(self) -> None:
        self.refused: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.refused = key
        return False


def _normalize(code: int) -> int:
    return (code + 2**31) % 2**32 - 2**31


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncssh.DisconnectError):
        return exc.reason or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


class SshClient:
    """One SSH connection to `target`. Not thread-safe: one caller runs one command at a time."""

    def __init__(self, target: SshTarget, options: SshOptions | None = None, *,
                 section: str = "runners.ssh") -> None:
        self.target = target
        self.options = options or SshOptions()
        self._section = section
        self._loop: LoopThread | None = None
        self._conn: asyncssh.SSHClientConnection | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None

    # -- connecting -----------------------------------------------------------------------------

    def _client_keys(self) -> list[asyncssh.SSHKey] | None:
        path = self.target.identity_file
        if not path:
            return None
        key = f"{self._section}.identity_file"
        try:
            return [asyncssh.read_private_key(path)]
        except OSError as exc:
            raise config_error(f"{key}: cannot read {path}: {exc.strerror or exc}") from None
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise config_error(f"{key}: {path} is not an unencrypted private key: {exc}") from None

    def connect(self, *, attempts: int | None = None, deadline: float | None = None,
                cancel_event: threading.Event | None = None) -> None:
        """Log in, retrying connection failures `attempts` times (or until `deadline`, monotonic).

        Raises BuildError when retrying cannot help (host key refused, login refused, unusable
        identity file) and SshConnectError when the server could not be reached in time.
        """
        keys = self._client_keys()
        known = load_known_hosts(self.target.known_hosts_file) if self.target.strict else None
        if self._loop is None:
            self._loop = LoopThread(f"runnerfleet-ssh-{self.target.address}")
        tries = attempts if attempts is not None else max(self.options.connect_retries, 1)
        attempt = 0
        last = ""
        while True:
            attempt += 1
            limit = self.options.connect_timeout
            if deadline is not None:
                limit = max(min(limit, deadline - time.monotonic()), 0.1)
            witness = _KeyWitness()
            try:
                self._conn = self._loop.call(self._open(keys, known, limit, witness))
                return
            except asyncssh.HostKeyNotVerifiable:
                assert known is not None
                offered = witness.refused
                fingerprint = f"{offered.get_algorithm()} key {offered.get_fingerprint()}" if offered else ""
                raise host_key_error(self.target, changed=has_entry(known, self.target),
                                     fingerprint=fingerprint) from None
            except asyncssh.PermissionDenied:
                raise self._login_refused() from None
            except (TimeoutError, OSError, asyncssh.Error) as exc:
                last = _describe(exc)
            now = time.monotonic()
            out_of_time = deadline is not None and now + self.options.retry_interval >= deadline
            if (deadline is None and attempt >= tries) or out_of_time:
                break
            if cancel_event is not None:
                if cancel_event.wait(self.options.retry_interval):
                    break
            else:
                time.sleep(self.options.retry_interval)
        raise SshConnectError(f"ssh: cannot connect to {self.target.address} as {self.target.user} "
                              f"({attempt} attempts): {last}")

    def _login_refused(self) -> BuildError:
        offered = ["password"]
        if self.target.identity_file:
            offered.append(f"publickey {self.target.identity_file}")
        return BuildError(
            f"ssh: {self.target.address} refused the login of {self.target.user} (tried "
            f"{', '.join(offered)}): check user, password and identity_file in [{self._section}]",
            failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE)

    async def _open(self, keys: list[asyncssh.SSHKey] | None, known: asyncssh.SSHKnownHosts | None,
                    limit: float, witness: _KeyWitness) -> asyncssh.SSHClientConnection:
        options: dict[str, Any] = {
            "client_factory": lambda: witness,
            "username": self.target.user,
            "password": self.target.password,
            "client_keys": keys,
            "known_hosts": known,
            # Nothing implicit: no agent, no ~/.ssh/config, no default keys (like gitlab-runner).
            "agent_path": None,
            "config": None,
            "client_host_keys": None,
            "connect_timeout": limit,
            "keepalive_interval": self.options.keepalive_interval,
            "keepalive_count_max": self.options.keepalive_count_max,
        }
        return await asyncssh.connect(self.target.host, self.target.port, **options)

    # -- running --------------------------------------------------------------------------------

    def run(
        self,
        command: str,
        stdin: bytes,
        stdout: OutputSink,
        stderr: OutputSink,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> RemoteOutcome:
        """Run `command` with `stdin` until it exits, `timeout` seconds pass or `cancel_event` is set."""
        if self._conn is None or self._loop is None:
            return RemoteOutcome(None, error=f"ssh: not connected to {self.target.address}")
        return self._loop.call(self._run(self._conn, command, stdin, stdout, stderr, timeout, cancel_event))

    def capture(self, command: str, timeout: float | None = None) -> tuple[RemoteOutcome, str]:
        """Run a short command without input; its outcome and its stdout text."""
        out, err = io.BytesIO(), io.BytesIO()
        outcome = self.run(command, b"", out, err, timeout=timeout, cancel_event=threading.Event())
        return outcome, out.getvalue().decode(errors="replace")

    async def _run(
        self,
        conn: asyncssh.SSHClientConnection,
        command: str,
        stdin: bytes,
        stdout: OutputSink,
        stderr: OutputSink,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> RemoteOutcome:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        session = _Session(stdout, stderr, done)
        try:
            chan, _ = await conn.create_session(lambda: session, command, encoding=None)
        except (OSError, asyncssh.Error) as exc:
            return RemoteOutcome(None, error=f"ssh: cannot start a session on {self.target.address}: "
                                             f"{_describe(exc)}")
        with contextlib.suppress(OSError, asyncssh.Error):
            if stdin:
                chan.write(stdin)
            chan.write_eof()
        deadline = None if timeout is None else loop.time() + max(timeout, 0.0)
        timed_out = canceled = False
        while not done.done():
            now = loop.time()
            if cancel_event.is_set():
                canceled = True
            elif deadline is not None and now >= deadline:
                timed_out = True
            if canceled or timed_out:
                await self._kill(conn, chan, done)
                break
            wait = POLL_INTERVAL if deadline is None else min(POLL_INTERVAL, max(deadline - now, 0.0))
            await asyncio.wait({done}, timeout=wait)
        return self._outcome(session, timed_out, canceled)

    async def _kill(self, conn: asyncssh.SSHClientConnection, chan: asyncssh.SSHClientChannel[bytes],
                    done: asyncio.Future[None]) -> None:
        # gitlab-runner's way: sshd signals the command's process group (not for root logins).
        with contextlib.suppress(OSError, asyncssh.Error):
            chan.send_signal("KILL")
        # And a second command on the same connection kills that group in any case.
        with contextlib.suppress(OSError, asyncssh.Error, TimeoutError):
            await asyncio.wait_for(conn.run(KILL_SIBLINGS, stdin=asyncssh.DEVNULL, check=False),
                                   self.options.kill_wait)
        with contextlib.suppress(OSError, asyncssh.Error):
            chan.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), self.options.kill_wait)

    def _outcome(self, session: _Session, timed_out: bool, canceled: bool) -> RemoteOutcome:
        if session.exit_status is not None:
            code = _normalize(session.exit_status)
            return RemoteOutcome(code, f"Process exited with status {code}", "", timed_out, canceled)
        if session.exit_signal:
            code = 128 + _SIGNAL_NUMBERS.get(session.exit_signal, 0)
            status = f"Process exited with status {code} from signal {session.exit_signal}"
            if session.signal_message:
                status += f". Reason was: {session.signal_message}"
            return RemoteOutcome(code, status, "", timed_out, canceled)
        if timed_out or canceled:
            return RemoteOutcome(None, "", "ssh: the remote command was killed", timed_out, canceled)
        reason = _describe(session.lost) if session.lost is not None else \
            "the session closed without an exit status"
        return RemoteOutcome(None, error=f"ssh: connection to {self.target.address} lost before the "
                                         f"command ended: {reason}")

    # -- closing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and stop the private loop (idempotent)."""
        conn, self._conn = self._conn, None
        if self._loop is None:
            return
        if conn is not None:
            with contextlib.suppress(Exception):
                self._loop.call(self._close(conn), timeout=self.options.kill_wait + 1)
        self._loop.stop()
        self._loop = None

    async def _close(self, conn: asyncssh.SSHClientConnection) -> None:
        conn.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(conn.wait_closed(), self.options.kill_wait)
