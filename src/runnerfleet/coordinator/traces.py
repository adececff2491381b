"""Job logs on disk: one append-at-offset file per job under `<data>/traces`."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

_READ_BLOCK = 1 << 20


class TraceFiles:
    """Append-only job logs; the file size is the stored length, so restarts keep everything."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory = directory
        self._lock = threading.Lock()

    def path(self, job_id: int) -> Path:
        return self.directory / f"{job_id}.log"

    def size(self, job_id: int) -> int:
        try:
            return self.path(job_id).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, job_id: int, offset: int, data: bytes) -> int:
        """Write `data` when `offset` is the current length; return the length afterwards."""
        with self._lock:
            current = self.size(job_id)
            if offset != current or not data:
                return current
            with self.path(job_id).open("ab") as f:
                f.write(data)
            return current + len(data)

    def read(self, job_id: int) -> bytes:
        try:
            return self.path(job_id).read_bytes()
        except FileNotFoundError:
            return b""

    def checksum(self, job_id: int) -> str:
        """`crc32:<8 hex>` over the whole stored log, the form runners send."""
        crc = 0
        try:
            with self.path(job_id).open("rb") as f:
                while block := f.read(_READ_BLOCK):
                    crc = zlib.crc32(block, crc)
        except FileNotFoundError:
            pass
        return f"crc32:{crc:08x}"
