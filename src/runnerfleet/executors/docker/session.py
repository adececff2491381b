"""Runs a job's stage scripts one after another in one start of the build container (a shell session).

Why: gitlab-runner starts its build container once per stage (attach + start + wait, ~0.4 s
each) and every helper stage in a predefined container. For an image without an ENTRYPOINT a
start only runs runnerfleet's own shell, so one long-lived shell can take the stages instead:
each stage is sent on the same attach connection as a here-document fed to a fresh `$0` (the
stage script is its stdin, as with a start per stage), and the session shell then kills what the
stage left running (what the end of a container run does) and prints an end marker with the exit
status on stdout and stderr. A stage then costs no Engine API call at all.

The marker carries a random token the job cannot know in advance; output before it is the
stage's, byte for byte. When the stream ends without a marker (the container stopped: a kill
sequence reached PID 1, `docker stop`), the stage's status is the container's exit code and the
next stage starts the container again.
"""

from __future__ import annotations

import re
import secrets
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runnerfleet.executors.docker.attach import (
    _DRAIN_LIMIT,
    _OOM_FLAG_CHECKS,
    POLL_INTERVAL,
    AttachOutcome,
    OutputSink,
    _Demux,
    _quietly,
    _receive,
)
from runnerfleet.executors.docker.daemon import Daemon, DockerDaemonError

_RS = b"\x1e"
_WRITE_SIZE = 64 * 1024


class MarkerFilter:
    """A sink passing bytes on until the end marker `RS token:status RS`; then records the status.

    Only a tail that may be the start of a marker is held back, so output streams as it comes.
    """

    def __init__(self, sink: OutputSink, token: str) -> None:
        self._sink = sink
        self._prefix = _RS + token.encode() + b":"
        self._marker = re.compile(re.escape(self._prefix) + rb"(-?\d{1,4})" + re.escape(_RS))
        self._buffer = bytearray()
        self.status: int | None = None

    def reset(self) -> None:
        self._buffer.clear()
        self.status = None

    def write(self, data: bytes) -> int:
        if self.status is not None:  # nothing belongs to the stage after its marker
            return len(data)
        self._buffer += data
        match = self._marker.search(self._buffer)
        if match is not None:
            self._emit(bytes(self._buffer[:match.start()]))
            self.status = int(match.group(1))
            self._buffer.clear()
            return len(data)
        keep = self._partial_marker_start()
        self._emit(bytes(self._buffer[:keep]))
        del self._buffer[:keep]
        return len(data)

    def flush(self) -> None:
        """The stream ended without a marker: whatever was held back is output after all."""
        self._emit(bytes(self._buffer))
        self._buffer.clear()

    def _partial_marker_start(self) -> int:
        """Where a possible (incomplete) marker begins in the buffer; its length when none can.

        A marker holds one RS before its end, so only the buffer's last RS can start one.
        """
        buf = self._buffer
        start = buf.rfind(_RS)
        if start < 0 or len(buf) - start > len(self._prefix) + 5:
            return len(buf)
        tail = bytes(buf[start:])
        head, rest = tail[:len(self._prefix)], tail[len(self._prefix):]
        if self._prefix.startswith(head) and re.fullmatch(rb"-?\d{0,4}", rest):
            return start
        return len(buf)

    def _emit(self, data: bytes) -> None:
        if data:
            self._sink.write(data)


def stage_input(script: str, token: str, number: int) -> bytes:
    """What the session shell reads for one stage: the script as a here-document, then the marker."""
    delimiter = f"RUNNERFLEET_STAGE_{token}_{number}"
    while delimiter in script:
        delimiter += "_"
    body = script if script.endswith("\n") else script + "\n"
    marker = f"\\036{token}:%d\\036"
    return (f"\"$0\" <<'{delimiter}'\n{body}{delimiter}\n"
            # What the end of a container run does: nothing the stage started survives it.
            f"rf_status=$?; kill -9 -1 2>/dev/null; "
            f"printf '{marker}' \"$rf_status\"; printf '{marker}' \"$rf_status\" >&2\n").encode()


@dataclass
class BuildSession:
    """The build container's running shell session, started on the first stage."""

    daemon: Daemon
    container: str
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    _sock: socket.socket | None = None
    _stages: int = 0

    @property
    def running(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def run(
        self,
        script: str,
        *,
        stdout: OutputSink,
        stderr: OutputSink,
        timeout: float | None,
        cancel_event: threading.Event,
        stop: Callable[[threading.Event], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> AttachOutcome:
        """Run one stage script in the session (starting the container first when it is not running)."""
        if self._sock is None:
            try:
                sock = self.daemon.attach(self.container)
            except DockerDaemonError as exc:
                return AttachOutcome(None, error=str(exc))
            try:
                self.daemon.start(self.container)
            except DockerDaemonError as exc:
                sock.close()
                return AttachOutcome(None, error=str(exc))
            sock.setblocking(False)
            self._sock = sock
        self._stages += 1
        # The stage number in the marker: a late marker of an earlier stage can never end this one.
        marker = f"{self.token}-{self._stages}"
        out, err = MarkerFilter(stdout, marker), MarkerFilter(stderr, marker)
        ended = threading.Event()
        timed_out, canceled, eof = self._stream(
            stage_input(script, marker, self._stages), out, err, ended, timeout, cancel_event,
            stop, clock)
        if out.status is not None:
            if eof:
                self.close()  # the container stopped right after the stage: the next one starts it
            return AttachOutcome(out.status, timed_out=timed_out, canceled=canceled)
        # The container stopped under the stage: its exit code is the stage's (as with a start
        # per stage); the next stage starts it again.
        out.flush()
        err.flush()
        self.close()
        try:
            code = self.daemon.wait(self.container, timeout=_DRAIN_LIMIT)
            state = self.daemon.inspect_container(self.container).get("State") or {}
            for _ in range(_OOM_FLAG_CHECKS if code == 137 else 0):
                if state.get("OOMKilled"):
                    break
                time.sleep(0.1)
                state = self.daemon.inspect_container(self.container).get("State") or {}
        except DockerDaemonError as exc:
            return AttachOutcome(None, error=str(exc), timed_out=timed_out, canceled=canceled)
        return AttachOutcome(code, timed_out=timed_out, canceled=canceled,
                             oom_killed=bool(state.get("OOMKilled")))

    def _stream(
        self,
        data: bytes,
        out: MarkerFilter,
        err: MarkerFilter,
        ended: threading.Event,
        timeout: float | None,
        cancel_event: threading.Event,
        stop: Callable[[threading.Event], None],
        clock: Callable[[], float],
    ) -> tuple[bool, bool, bool]:
        """Send the stage, stream its output until both markers came; (timed out, canceled, eof)."""
        sock = self._sock
        assert sock is not None
        demux = _Demux(out, err)
        selector = selectors.DefaultSelector()
        pending = memoryview(data)
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        writing = True
        deadline = None if timeout is None else clock() + max(timeout, 0.0)
        timed_out = canceled = eof = False
        stopper: threading.Thread | None = None
        stopped_at: float | None = None
        out_ended_at: float | None = None
        try:
            while not (out.status is not None and err.status is not None):
                now = clock()
                if out.status is not None:
                    # The stage is over; its stderr marker is on its way (separate stream copy).
                    ended.set()
                    out_ended_at = now if out_ended_at is None else out_ended_at
                    if now - out_ended_at > _DRAIN_LIMIT:
                        break
                if stopper is None:
                    if cancel_event.is_set():
                        canceled = True
                    elif deadline is not None and now >= deadline:
                        timed_out = True
                    if canceled or timed_out:
                        stopper = threading.Thread(target=_quietly, args=(lambda: stop(ended),),
                                                   daemon=True, name=f"docker-stop-{self.container[:12]}")
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
                            sent = sock.send(pending[:_WRITE_SIZE])
                        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                            sent = 0
                        except OSError:
                            sent, pending = 0, memoryview(b"")
                        pending = pending[sent:]
                        if not pending:
                            writing = False
                            selector.modify(sock, selectors.EVENT_READ)
                    if mask & selectors.EVENT_READ:
                        chunk, eof = _receive(sock)
                        if chunk:
                            demux.feed(chunk)
                if eof:
                    break
        finally:
            ended.set()
            selector.close()
        if stopper is not None:
            stopper.join(_DRAIN_LIMIT)
        return timed_out, canceled, eof
