"""Job logs on disk: one append-at-offset file per job under `<data>/traces`."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from pathlib import Path

_READ_BLOCK = 1 << 20
# Jobs whose (length, CRC) is kept in memory; an evicted job is re-read once when asked again.
_TALLY_LIMIT = 1024


class TraceFiles:
    """Append-only job logs; the file size is the stored length, so restarts keep everything.

    Each job's length and CRC-32 are kept up to date as chunks arrive, so neither a PATCH nor
    the final PUT's checksum comparison reads the log back: only a job this process has not
    seen yet (after a restart, or evicted) is read once to learn them.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()
        self._tally: OrderedDict[int, tuple[int, int]] = OrderedDict()  # job → (length, crc)

    def path(self, job_id: int) -> Path:
        return self.directory / f"{job_id}.log"

    def _tally_of(self, job_id: int) -> tuple[int, int]:
        """(length, crc32) of the stored log; the caller holds the lock."""
        tally = self._tally.get(job_id)
        if tally is None:
            length, crc = 0, 0
            try:
                with self.path(job_id).open("rb") as f:
                    while block := f.read(_READ_BLOCK):
                        length += len(block)
                        crc = zlib.crc32(block, crc)
            except FileNotFoundError:
                pass
            tally = (length, crc)
            self._remember(job_id, tally)
        return tally

    def _remember(self, job_id: int, tally: tuple[int, int]) -> None:
        self._tally[job_id] = tally
        self._tally.move_to_end(job_id)
        while len(self._tally) > _TALLY_LIMIT:
            self._tally.popitem(last=False)

    def size(self, job_id: int) -> int:
        with self._lock:
            return self._tally_of(job_id)[0]

    def append(self, job_id: int, offset: int, data: bytes) -> int:
        """Write `data` when `offset` is the current length; return the length afterwards.

        No fsync: GitLab keeps live chunks in Redis and promises nothing about a crash either;
        the runner resends from GitLab's `Range` whatever a restarted coordinator lacks.
        """
        with self._lock:
            current, crc = self._tally_of(job_id)
            if offset != current or not data:
                return current
            try:
                with self.path(job_id).open("ab") as f:
                    f.write(data)
            except BaseException:
                # A partial write leaves the file's length unknown: learn it again next time.
                self._tally.pop(job_id, None)
                raise
            self._remember(job_id, (current + len(data), zlib.crc32(data, crc)))
            return current + len(data)

    def read(self, job_id: int) -> bytes:
        try:
            return self.path(job_id).read_bytes()
        except FileNotFoundError:
            return b""

    def checksum(self, job_id: int) -> str:
        """`crc32:<8 hex>` over the whole stored log, the form runners send."""
        with self._lock:
            return f"crc32:{self._tally_of(job_id)[1]:08x}"
