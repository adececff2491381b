"""Keeps the final job log bytes in a private temp file, with the output limit and CRC32."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib

from runnerfleet.trace.colors import BOLD_YELLOW, RESET

DEFAULT_OUTPUT_LIMIT = 4 * 1024 * 1024
# Bytes gathered in memory before one write to the file; `flush` (after every log write) and
# reads write out the rest, so what a write call stored is in the file when it returns.
_WRITE_BATCH = 256 * 1024
# Pieces per writev call (well below the usual IOV_MAX of 1024).
_MAX_IOV = 64


def limit_notice(limit: int) -> bytes:
    """gitlab-runner's notice, appended once when the log reaches `limit` bytes."""
    return (
        f"\n{BOLD_YELLOW}Job's log exceeded limit of {limit} bytes.\n"
        f"Job execution will continue but no more output will be collected.{RESET}\n"
    ).encode()


def _utf8_safe_cut(data: bytes, size: int) -> int:
    """Shorten a cut at `size` by up to 3 bytes so it does not split a UTF-8 character."""
    for _ in range(4):
        if size <= 0:
            return 0
        last = data[size - 1]
        if last < 0x80:
            return size
        start = size - 1
        while start > 0 and size - start < 4 and 0x80 <= data[start] < 0xC0:
            start -= 1
        try:
            data[start:size].decode("utf-8")
            return size
        except UnicodeDecodeError:
            size -= 1
    return size


class LogStore:
    """Append-only log storage: 0600 temp file removed on close, reads by offset, running CRC32."""

    def __init__(self, output_limit: int = DEFAULT_OUTPUT_LIMIT, *, directory: str | None = None) -> None:
        """`directory`: where the file lives (default: the temp dir); the service keeps in-flight
        logs in its job journal directory so that a restarted runner can still send them."""
        if output_limit <= 0:
            raise ValueError(f"output limit must be a positive number of bytes, got {output_limit}")
        # mkstemp creates it 0600.
        fd, self._path = tempfile.mkstemp(prefix="runnerfleet-trace-", dir=directory)
        self._fd: int | None = fd
        self._limit = output_limit
        self._size = 0
        self._flushed = 0
        self._crc = 0
        self._batch: list[bytes] = []
        self._batch_len = 0
        self.limit_exceeded = False

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def path(self) -> str:
        return self._path

    def size(self) -> int:
        return self._size

    def checksum(self) -> str:
        return f"crc32:{self._crc:08x}"

    def append(self, data: bytes) -> None:
        """Append data, cutting it at the output limit (then the notice once, then nothing)."""
        if self.limit_exceeded or not data:
            return
        capacity = self._limit - self._size
        if len(data) >= capacity:
            self._append(data[: _utf8_safe_cut(data, capacity)])
            self._append(limit_notice(self._limit))
            self.limit_exceeded = True
            return
        self._append(data)

    def _append(self, data: bytes) -> None:
        if not data:
            return
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._batch.append(data)
        self._batch_len += len(data)
        if self._batch_len >= _WRITE_BATCH:
            self._flush_batch()

    def flush(self) -> None:
        """Write what is gathered to the file: from then on it survives the runner being killed
        (the file is the crash journal's copy of the log)."""
        self._flush_batch()

    def _flush_batch(self) -> None:
        if not self._batch:
            return
        if self._fd is None:
            raise ValueError("the job log buffer is closed")
        batch, size = self._batch, self._batch_len
        self._batch, self._batch_len = [], 0
        # One writev for a batch of big pieces (no joined copy); many small ones are joined.
        written = os.writev(self._fd, batch) if len(batch) <= _MAX_IOV else 0
        if written < size:
            view = memoryview(b"".join(batch))[written:]
            while view:
                view = view[os.write(self._fd, view):]
        self._flushed += size

    def read(self, offset: int, max_bytes: int | None = None) -> bytes:
        if offset < 0 or offset > self._size:
            raise ValueError(f"offset {offset} is outside the job log (0..{self._size})")
        self._flush_batch()
        if self._fd is None:
            raise ValueError("the job log buffer is closed")
        count = self._size - offset if max_bytes is None else min(max_bytes, self._size - offset)
        chunks: list[bytes] = []
        while count > 0:
            chunk = os.pread(self._fd, count, offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            count -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        self._batch, self._batch_len = [], 0
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
