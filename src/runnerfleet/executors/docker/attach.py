"""Runs one stage script in a container: attach, start, feed the script on stdin, stream the output.

As gitlab-runner's docker executor does: the container's command is a shell reading its script
from stdin (OpenStdin + StdinOnce), so each start runs one stage; the attach connection carries
stdin (closed for writing once the script is sent) and the multiplexed stdout/stderr frames
(8-byte header: stream type, 3 zero bytes, big-endian length). The stage ends when the
container exits; a cancel or timeout calls `stop` (a background kill sequence) and keeps
streaming until the container is gone. `pump` is the one socket loop of the docker executor: the
build session (session.py) runs it with the stream kept open between stages.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError

POLL_INTERVAL = 0.05
_READ_SIZE = 64 * 1024
# After the kill sequence ended, how long the output may stay open before giving up on it.
_DRAIN_LIMIT = 15.0
_OOM_FLAG_CHECKS = 50  # x 0.1 s: the daemon can be slow to take the event on a loaded host


class OutputSink(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass(frozen=True)
class AttachOutcome:
    """How a stage ended: the container's exit code, or why it could not run (`error`)."""

    exit_code: int | None
    error: str = ""
    timed_out: bool = False
    canceled: bool = False
    oom_killed: bool = False


class _Demux:
    """Splits the attach stream's frames into stdout and stderr writes."""

    def __init__(self, stdout: OutputSink, stderr: OutputSink) -> None:
        self._sinks = {1: stdout, 2: stderr}
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= 8:
            size = int.from_bytes(self._buffer[4:8], "big")
            if len(self._buffer) < 8 + size:
                return
            kind = self._buffer[0]
            payload = bytes(self._buffer[8:8 + size])
            del self._buffer[:8 + size]
            sink = self._sinks.get(kind)
            if sink is not None and payload:
                sink.write(payload)


def attach_and_start(daemon: Daemon, container: str) -> socket.socket | AttachOutcome:
    """Attach to `container`, then start it: the attach socket, or why it could not run."""
    try:
        sock = daemon.attach(container)
    except DockerDaemonError as exc:
        return AttachOutcome(None, error=str(exc))
    try:
        daemon.start(container)
    except DockerDaemonError as exc:
        sock.close()
        return AttachOutcome(None, error=str(exc))
    return sock


def container_exit(daemon: Daemon, container: str, *, timed_out: bool,
                   canceled: bool) -> AttachOutcome:
    """The outcome of a stage that ended with its container: the exit code and OOM flag."""
    try:
        code = daemon.wait(container, timeout=_DRAIN_LIMIT)
        state = daemon.inspect_container(container).get("State") or {}
        # The daemon learns of an OOM kill from an event that can arrive just after the exit: a
        # SIGKILL'd script (137) gets a short grace for the flag before it is reported plainly.
        for _ in range(_OOM_FLAG_CHECKS if code == 137 else 0):
            if state.get("OOMKilled"):
                break
            time.sleep(0.1)
            state = daemon.inspect_container(container).get("State") or {}
    except DockerDaemonError as exc:
        return AttachOutcome(None, error=str(exc), timed_out=timed_out, canceled=canceled)
    return AttachOutcome(code, timed_out=timed_out, canceled=canceled,
                         oom_killed=bool(state.get("OOMKilled")))


def run_attached(
    daemon: Daemon,
    container: str,
    script: bytes,
    *,
    stdout: OutputSink,
    stderr: OutputSink,
    timeout: float | None,
    cancel_event: threading.Event,
    stop: Callable[[], None],
    clock: Callable[[], float] = time.monotonic,
) -> AttachOutcome:
    """Start `container` with `script` on its stdin and wait until it exits or must be stopped."""
    sock = attach_and_start(daemon, container)
    if isinstance(sock, AttachOutcome):
        return sock
    timed_out, canceled, _ = pump(sock, script, stdout, stderr, keep_open=False, timeout=timeout,
                                  cancel_event=cancel_event, stop=stop, clock=clock,
                                  stopper_name=f"docker-stop-{container[:12]}")
    return container_exit(daemon, container, timed_out=timed_out, canceled=canceled)


def run_exec(
    daemon: Daemon,
    container: str,
    command: list[str],
    script: bytes,
    *,
    stdout: OutputSink,
    stderr: OutputSink,
    timeout: float | None,
    cancel_event: threading.Event,
    stop: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> AttachOutcome:
    """Run `command` in the running `container` with `script` on its stdin (one exec per stage)."""
    try:
        exec_id, sock = daemon.exec_attached(container, command)
    except DockerDaemonError as exc:
        return AttachOutcome(None, error=str(exc))
    timed_out, canceled, _ = pump(sock, script, stdout, stderr, keep_open=False, timeout=timeout,
                                  cancel_event=cancel_event, stop=lambda: stop(exec_id),
                                  clock=clock, stopper_name=f"docker-stop-exec-{exec_id[:12]}")
    try:
        code = daemon.exec_exit_code(exec_id, _DRAIN_LIMIT)
    except DockerDaemonError as exc:
        return AttachOutcome(None, error=str(exc), timed_out=timed_out, canceled=canceled)
    return AttachOutcome(code, timed_out=timed_out, canceled=canceled)


def pump(
    sock: socket.socket,
    data: bytes,
    stdout: OutputSink,
    stderr: OutputSink,
    *,
    keep_open: bool,
    timeout: float | None,
    cancel_event: threading.Event,
    stop: Callable[[], None],
    clock: Callable[[], float],
    stopper_name: str,
    stage_end: Callable[[], tuple[bool, bool]] | None = None,
    ended: threading.Event | None = None,
) -> tuple[bool, bool, bool]:
    """Send `data` on an attach socket and stream the output; (timed out, canceled, eof).

    A cancel or timeout runs `stop` in a thread and keeps streaming until the output ends (or
    `_DRAIN_LIMIT` after `stop` returned).
    `keep_open=False` (a start or exec per stage): the write side is closed once `data` is sent
    or the stage must stop (that closes the shell's stdin), and the socket when the output ends.
    `keep_open=True` (a session shell that takes the next stage too): the socket stays open,
    `data` is always sent in full (a cut-off stage input would run into the next stage's), and
    `stage_end` ends the stage: (stdout's end seen, both streams' ends seen); after stdout's
    end stderr's has `_DRAIN_LIMIT` to come. `ended` is set at stdout's end and on return.
    """
    demux = _Demux(stdout, stderr)
    selector = selectors.DefaultSelector()
    sock.setblocking(False)
    pending = memoryview(data)
    writing = bool(pending)
    selector.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0))
    if not writing and not keep_open:
        _close_write(sock)

    deadline = None if timeout is None else clock() + max(timeout, 0.0)
    timed_out = canceled = eof = False
    stopper: threading.Thread | None = None
    stopped_at: float | None = None
    stdout_ended_at: float | None = None
    try:
        while True:
            stdout_done, both_done = stage_end() if stage_end is not None else (False, False)
            if both_done:
                break
            now = clock()
            if stdout_done:
                # The stage is over; its stderr end is on its way (a separate stream copy).
                if ended is not None:
                    ended.set()
                stdout_ended_at = now if stdout_ended_at is None else stdout_ended_at
                if now - stdout_ended_at > _DRAIN_LIMIT:
                    break
            if stopper is None:
                if cancel_event.is_set():
                    canceled = True
                elif deadline is not None and now >= deadline:
                    timed_out = True
                if canceled or timed_out:
                    if writing and not keep_open:
                        writing = False
                        selector.modify(sock, selectors.EVENT_READ)
                        _close_write(sock)
                    stopper = threading.Thread(target=_quietly, args=(stop,), daemon=True,
                                               name=stopper_name)
                    stopper.start()
            elif stopped_at is None and not stopper.is_alive():
                stopped_at = now
            elif stopped_at is not None and now - stopped_at > _DRAIN_LIMIT:
                break
            wait = POLL_INTERVAL
            if stopper is None and deadline is not None:
                wait = min(wait, max(deadline - now, 0.0))
            for _, mask in selector.select(timeout=wait):
                if mask & selectors.EVENT_WRITE and writing:
                    try:
                        sent = sock.send(pending[:_READ_SIZE])
                    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        sent = 0
                    except OSError:
                        sent, pending = 0, memoryview(b"")  # the shell stopped reading
                    pending = pending[sent:]
                    if not pending:
                        writing = False
                        selector.modify(sock, selectors.EVENT_READ)
                        if not keep_open:
                            _close_write(sock)
                if mask & selectors.EVENT_READ:
                    chunk, eof = _receive(sock)
                    if chunk:
                        demux.feed(chunk)
            if eof:
                break
    finally:
        if ended is not None:
            ended.set()
        selector.close()
        if not keep_open:
            sock.close()
    if stopper is not None:
        stopper.join(_DRAIN_LIMIT)
    return timed_out, canceled, eof


def _receive(sock: socket.socket) -> tuple[bytes, bool]:
    """(bytes read now, whether the stream ended); TLS may hold decrypted bytes the selector can't see."""
    chunks: list[bytes] = []
    while True:
        try:
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return b"".join(chunks), False
        except OSError:
            return b"".join(chunks), True
        if not data:
            return b"".join(chunks), True
        chunks.append(data)
        if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
            return b"".join(chunks), False


def _close_write(sock: socket.socket) -> None:
    # The daemon closes the container's stdin when the attach stream's write side ends. TLS has
    # no half-close in Python's ssl (shutdown drops the session): there the script's own final
    # `exit` ends the shell instead.
    if isinstance(sock, ssl.SSLSocket):
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def _quietly(stop: Callable[[], None]) -> None:
    with contextlib.suppress(Exception):
        stop()
