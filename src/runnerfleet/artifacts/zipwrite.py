"""A streaming zip writer: entries go straight to any writable byte stream, nothing is seeked or held whole.

File data is deflated while it is read and followed by a data descriptor, so the archive can be
sent as it is produced (chunked HTTP upload) and memory stays bounded by the read block, whatever
the file sizes. Only the central directory (~100 bytes per entry) is kept until `close()`.
Zip64 records are written when sizes, offsets or the entry count need them.

Entries carry what gitlab-runner's archiver writes: unix mode (external attributes), UTC
MS-DOS time, the extended-timestamp extra field (0x5455) and the uid/gid extra field (0x7875).
"""

from __future__ import annotations

import os
import stat
import struct
import time
import zlib
from typing import Protocol

READ_BLOCK = 1 << 20
FLUSH_AT = 1 << 18
_U32 = 0xFFFFFFFF
_U16 = 0xFFFF
FLAG_DESCRIPTOR = 0x08
FLAG_UTF8 = 0x800
STORE, DEFLATE = 0, 8
_MADE_BY_UNIX = 3 << 8

COMPRESSION_LEVELS = {"fastest": 1, "fast": 3, "default": 6, "slow": 7, "slowest": 9}


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


class FileChanged(OSError):
    """A file grew past what its entry could record while it was being archived."""


def compression_level(name: str | None) -> int:
    """ARTIFACT_COMPRESSION_LEVEL / CACHE_COMPRESSION_LEVEL → zlib level (unknown → default)."""
    return COMPRESSION_LEVELS.get((name or "").strip().lower(), 6)


def dos_time(mtime: float) -> tuple[int, int]:
    """(time, date) in MS-DOS format, UTC as Go's zip writer stores them; before 1980 → 1980-01-01."""
    t = time.gmtime(max(mtime, 315532800))
    return ((t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
            ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday)


def runner_extra(st: os.stat_result) -> bytes:
    """gitlab-runner's extra fields: uid/gid (0x7875, version 1) and modification time (0x5455)."""
    uid_gid = struct.pack("<BBIBI", 1, 4, st.st_uid & _U32, 4, st.st_gid & _U32)
    stamp = struct.pack("<BI", 1, int(st.st_mtime) & _U32)
    return (struct.pack("<HH", 0x7875, len(uid_gid)) + uid_gid
            + struct.pack("<HH", 0x5455, len(stamp)) + stamp)


def _flags_for(name: bytes) -> int:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return 0
    return FLAG_UTF8


class ZipStreamWriter:
    """Writes zip entries to `sink` in order; call `close()` once to write the central directory."""

    def __init__(self, sink: Sink, level: int = 6) -> None:
        self._sink = sink
        self._level = level
        self._buffer = bytearray()
        self._offset = 0
        self._central: list[bytes] = []
        self._closed = False

    # -- output -----------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self._offset += len(data)
        if len(data) >= FLUSH_AT:
            self._flush()
            self._sink.write(data)
            return
        self._buffer += data
        if len(self._buffer) >= FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._sink.write(bytes(self._buffer))
            self._buffer.clear()

    @property
    def bytes_written(self) -> int:
        return self._offset

    # -- entries ------------------------------------------------------------------------------
    def _local_header(self, name: bytes, flags: int, method: int, st: os.stat_result, crc: int,
                      csize: int, usize: int, extra: bytes, zip64: bool) -> None:
        mtime, mdate = dos_time(st.st_mtime)
        version = 45 if zip64 else 20
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, 0, 0) + extra
            csize = usize = _U32
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, version, flags, method, mtime, mdate,
                                crc, csize, usize, len(name), len(extra)) + name + extra)

    def _central_record(self, name: bytes, flags: int, method: int, st: os.stat_result, crc: int,
                        csize: int, usize: int, offset: int, extra: bytes, external: int) -> None:
        mtime, mdate = dos_time(st.st_mtime)
        z64 = b""
        if usize >= _U32:
            z64 += struct.pack("<Q", usize)
            usize = _U32
        if csize >= _U32:
            z64 += struct.pack("<Q", csize)
            csize = _U32
        if offset >= _U32:
            z64 += struct.pack("<Q", offset)
            offset = _U32
        if z64:
            extra = struct.pack("<HH", 1, len(z64)) + z64 + extra
        version = 45 if z64 else 20
        self._central.append(struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY_UNIX | version, version, flags, method,
            mtime, mdate, crc, csize, usize, len(name), len(extra), 0, 0, 0, external, offset,
        ) + name + extra)

    @staticmethod
    def _external(st: os.stat_result) -> int:
        mode = st.st_mode & 0xFFFF
        dos = 0x10 if stat.S_ISDIR(st.st_mode) else 0
        if not st.st_mode & 0o200:
            dos |= 0x01
        return (mode << 16) | dos

    def _stored(self, name: bytes, st: os.stat_result, data: bytes) -> None:
        """A small entry whose bytes are known upfront (directory, symbolic link)."""
        offset = self._offset
        flags = _flags_for(name)
        crc = zlib.crc32(data)
        extra = runner_extra(st)
        self._local_header(name, flags, STORE, st, crc, len(data), len(data), extra, False)
        self._write(data)
        self._central_record(name, flags, STORE, st, crc, len(data), len(data), offset, extra,
                             self._external(st))

    def add_directory(self, name: bytes, st: os.stat_result) -> None:
        self._stored(name.rstrip(b"/") + b"/", st, b"")

    def add_symlink(self, name: bytes, target: bytes, st: os.stat_result) -> None:
        self._stored(name, st, target)

    def add_file(self, name: bytes, path: str | bytes, st: os.stat_result) -> None:
        """Deflate the file at `path` into the stream (read in 1 MiB blocks)."""
        with open(path, "rb", buffering=0) as src:
            self.add_stream(name, src, st)

    def add_stream(self, name: bytes, src: object, st: os.stat_result) -> None:
        """Like add_file for an open binary file object (anything with `readinto`)."""
        offset = self._offset
        flags = _flags_for(name) | FLAG_DESCRIPTOR
        zip64 = st.st_size * 101 // 100 + 1024 >= _U32
        extra = runner_extra(st)
        method = DEFLATE if self._level > 0 else STORE
        self._local_header(name, flags, method, st, 0, 0, 0, extra, zip64)
        crc = usize = csize = 0
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15) if method == DEFLATE else None
        block = bytearray(READ_BLOCK)
        view = memoryview(block)
        readinto = src.readinto  # type: ignore[attr-defined]
        while True:
            n = readinto(block)
            if not n:
                break
            chunk = view[:n]
            crc = zlib.crc32(chunk, crc)
            usize += n
            out = compressor.compress(chunk) if compressor is not None else bytes(chunk)
            if out:
                csize += len(out)
                self._write(out)
        if compressor is not None:
            tail = compressor.flush()
            csize += len(tail)
            self._write(tail)
        if not zip64 and (usize >= _U32 or csize >= _U32):
            raise FileChanged(f"{os.fsdecode(name)}: file grew past 4 GiB while it was archived")
        if zip64:
            self._write(struct.pack("<IIQQ", 0x08074B50, crc, csize, usize))
        else:
            self._write(struct.pack("<IIII", 0x08074B50, crc, csize, usize))
        self._central_record(name, flags, method, st, crc, csize, usize, offset, extra,
                             self._external(st))

    def close(self) -> None:
        """Write the central directory and end records, then flush everything to the sink."""
        if self._closed:
            return
        self._closed = True
        start = self._offset
        for record in self._central:
            self._write(record)
        size = self._offset - start
        count = len(self._central)
        if count >= _U16 or size >= _U32 or start >= _U32:
            z64_offset = self._offset
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _MADE_BY_UNIX | 45, 45, 0, 0,
                                    count, count, size, start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, z64_offset, 1))
            self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, _U16), min(count, _U16),
                                    min(size, _U32), min(start, _U32), 0))
        else:
            self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, start, 0))
        self._flush()
