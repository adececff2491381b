"""Prefixes job log lines with gitlab-runner's timestamp and stream header (FF_TIMESTAMPS)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], int]
"""Returns the current time in nanoseconds since the Unix epoch (like `time.time_ns`)."""

STDOUT = "O"
STDERR = "E"
FULL_LINE = " "
PARTIAL_LINE = "+"
# Bytes of an unterminated line kept back before it is written out as a partial line.
LINE_BUFFER_SIZE = 8 * 1024


class Timestamper:
    """Writes `YYYY-MM-DDTHH:MM:SS.ffffffZ <id><O|E><' '|'+'>` before every line of one stream.

    A line continues the previous entry (`+`) after a write that contained `\\r` but no newline
    (progress bars, section markers) or after a line longer than the 8 KiB line buffer.
    The header time is when the first byte of the line arrived.
    """

    def __init__(self, stream_id: int, stream_type: str, clock: Clock = time.time_ns) -> None:
        if not 0 <= stream_id <= 0xFF:
            raise ValueError(f"stream id {stream_id} is outside 0..255")
        if stream_type not in (STDOUT, STDERR):
            raise ValueError(f"stream type {stream_type!r} is neither 'O' nor 'E'")
        self._tag = f"{stream_id:02x}{stream_type}"
        self._clock = clock
        self._flag = FULL_LINE
        self._line: list[bytes] = []
        self._line_len = 0
        self._cached_sec = -1
        self._cached_prefix = ""

    def _stamp(self) -> bytes:
        """The time part of a header, `YYYY-MM-DDTHH:MM:SS.ffffffZ `."""
        ns = self._clock()
        sec, rest = divmod(ns, 1_000_000_000)
        if sec != self._cached_sec:
            self._cached_sec = sec
            self._cached_prefix = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._cached_prefix}.{rest // 1000:06d}Z {self._tag}".encode()

    def _header(self, stamp: bytes | None = None) -> bytes:
        header = (stamp if stamp is not None else self._stamp()) + self._flag.encode()
        self._flag = FULL_LINE
        return header

    def _take_line(self) -> list[bytes]:
        line, self._line, self._line_len = self._line, [], 0
        return line

    def feed(self, data: bytes) -> bytes:
        return b"".join(self.feed_parts(data))

    def feed_parts(self, data: bytes) -> list[bytes]:
        """The stamped output of one write, as pieces to be written one after the other."""
        if not data:
            return []
        out: list[bytes] = []
        pos = 0
        last_newline = data.rfind(b"\n")
        if last_newline >= 0:
            pos = last_newline + 1
            more_lines = data.find(b"\n") < last_newline
            stamp = b""
            if self._line_len:
                # The first newline finishes a buffered line that already has its header.
                out.extend(self._take_line())
                if more_lines:
                    stamp = self._stamp()
            else:
                # One clock reading per write: all its lines arrived at the same moment.
                stamp = self._stamp()
                out.append(self._header(stamp))
            if more_lines:
                # Every newline but the last starts a line of this write: one C-level replace.
                out.append(data[:last_newline].replace(b"\n", b"\n" + stamp + FULL_LINE.encode()))
                out.append(b"\n")
            else:
                out.append(data if pos == len(data) else data[:pos])
        rest = data[pos:] if pos else data
        if not rest:
            return out
        if b"\r" in rest:
            # A carriage return flushes the whole write as one entry; the next one continues it.
            out.extend(self._take_line() if self._line_len else [self._header()])
            out.append(rest)
            out.append(b"\n")
            self._flag = PARTIAL_LINE
        elif self._line_len + len(rest) > LINE_BUFFER_SIZE:
            out.extend(self._take_line() if self._line_len else [self._header()])
            out.append(rest)
            out.append(b"\n")
            self._flag = PARTIAL_LINE
        else:
            if not self._line_len:
                header = self._header()
                self._line.append(header)
                # Like gitlab-runner, the header counts towards the line buffer size.
                self._line_len = len(header)
            self._line.append(rest)
            self._line_len += len(rest)
        return out

    def flush(self) -> bytes:
        if not self._line_len:
            return b""
        return b"".join([*self._take_line(), b"\n"])
