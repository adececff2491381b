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
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runnerfleet.executors.docker.attach import (
    AttachOutcome,
    OutputSink,
    attach_and_start,
    container_exit,
    pump,
)
from runnerfleet.executors.docker.daemon import Daemon

_RS = b"\x1e"


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
            sock = attach_and_start(self.daemon, self.container)
            if isinstance(sock, AttachOutcome):
                return sock
            self._sock = sock
        self._stages += 1
        # The stage number in the marker: a late marker of an earlier stage can never end this one.
        marker = f"{self.token}-{self._stages}"
        out, err = MarkerFilter(stdout, marker), MarkerFilter(stderr, marker)
        ended = threading.Event()
        timed_out, canceled, eof = pump(
            self._sock, stage_input(script, marker, self._stages), out, err, keep_open=True,
            timeout=timeout, cancel_event=cancel_event, stop=lambda: stop(ended), clock=clock,
            stopper_name=f"docker-stop-{self.container[:12]}",
            stage_end=lambda: (out.status is not None,
                               out.status is not None and err.status is not None),
            ended=ended)
        if out.status is not None:
            if eof:
                self.close()  # the container stopped right after the stage: the next one starts it
            return AttachOutcome(out.status, timed_out=timed_out, canceled=canceled)
        # The container stopped under the stage: its exit code is the stage's (as with a start
        # per stage); the next stage starts it again.
        out.flush()
        err.flush()
        self.close()
        return container_exit(self.daemon, self.container, timed_out=timed_out, canceled=canceled)
