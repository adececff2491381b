"""Writes a FileSet as a zip, gzip or raw stream (gitlab-runner's archivers), reading each file once.

zip: every entry (directories, files, symbolic links) in path order, streamed.
gzip: one gzip member per regular file, the base name in FNAME and the path in FCOMMENT (non-ASCII
  names escaped as `e:<percent-encoded>`, like gitlab-runner), as GitLab expects for reports.
raw: the single selected file, byte for byte.
"""

from __future__ import annotations

import os
import stat
import struct
import zlib
from urllib.parse import quote

from runnerfleet.artifacts.files import FileSet
from runnerfleet.artifacts.report import Reporter
from runnerfleet.artifacts.zipwrite import READ_BLOCK, Sink, ZipStreamWriter

FORMATS = ("zip", "gzip", "raw")


class ArchiveError(Exception):
    """The selected files cannot be written in the requested format; one line for the job log."""


def _is_git_path(path: str) -> bool:
    return path.split("/", 1)[0] == ".git"


def _warn_git(paths: list[str], reporter: Reporter, operation: str) -> None:
    if any(_is_git_path(p) for p in paths):
        reporter.warning(f"Part of .git directory is on the list of files to {operation}")
        reporter.warning("This may introduce unexpected problems")


def write_zip(sink: Sink, files: FileSet, *, level: int = 6, reporter: Reporter | None = None) -> int:
    """Stream `files` as a zip archive into `sink`; returns the archive size."""
    reporter = reporter or Reporter()
    writer = ZipStreamWriter(sink, level)
    paths = files.sorted_paths()
    _warn_git(paths, reporter, "archive")
    for rel in paths:
        full = os.path.join(files.wd, rel)
        try:
            st = os.lstat(full)
        except OSError as exc:
            reporter.warning(f"File ignored: lstat {rel}: {exc.strerror or exc}")
            continue
        name = os.fsencode(rel)
        if stat.S_ISDIR(st.st_mode):
            writer.add_directory(name, st)
        elif stat.S_ISLNK(st.st_mode):
            writer.add_symlink(name, os.readlink(os.fsencode(full)), st)
        elif stat.S_ISREG(st.st_mode):
            writer.add_file(name, full, st)
        else:
            reporter.warning(f"File ignored: {rel}")
    writer.close()
    return writer.bytes_written


def gzip_label(text: str) -> bytes:
    """A gzip header string: as is when plain ASCII without `%`, else `e:` + percent-encoding."""
    if all(ord(c) < 128 for c in text) and "%" not in text:
        return text.encode("ascii")
    raw = os.fsencode(text)
    return b"e:" + quote(raw, safe="$&+,:;=@").encode("ascii")


def _gzip_member(sink: Sink, path: str, rel: str, st: os.stat_result, level: int) -> None:
    header = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0x08 | 0x10, int(st.st_mtime) & 0xFFFFFFFF, 0, 255)
    sink.write(header + gzip_label(os.path.basename(rel)) + b"\0" + gzip_label(rel) + b"\0")
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc = size = 0
    with open(path, "rb", buffering=0) as src:
        while block := src.read(READ_BLOCK):
            crc = zlib.crc32(block, crc)
            size += len(block)
            out = compressor.compress(block)
            if out:
                sink.write(out)
    sink.write(compressor.flush() + struct.pack("<II", crc, size & 0xFFFFFFFF))


def write_gzip(sink: Sink, files: FileSet, *, level: int = 6, reporter: Reporter | None = None) -> None:
    reporter = reporter or Reporter()
    for rel in files.sorted_paths():
        full = os.path.join(files.wd, rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError as exc:
            reporter.warning(f"File ignored: {exc}")
            continue
        if not stat.S_ISREG(st.st_mode):
            raise ArchiveError(f'the "{rel}" is not a regular file')
        _gzip_member(sink, full, rel, st, level)


def write_raw(sink: Sink, files: FileSet) -> None:
    if len(files) > 1:
        raise ArchiveError("only one file can be sent as raw")
    for rel in files.sorted_paths():
        with open(os.path.join(files.wd, rel), "rb", buffering=0) as src:
            while block := src.read(READ_BLOCK):
                sink.write(block)


def write_archive(fmt: str, sink: Sink, files: FileSet, *, level: int = 6,
                  reporter: Reporter | None = None) -> None:
    """Write `files` in format `fmt` (zip, gzip, raw) into `sink`."""
    if fmt == "zip":
        write_zip(sink, files, level=level, reporter=reporter)
    elif fmt == "gzip":
        write_gzip(sink, files, level=level, reporter=reporter)
    elif fmt == "raw":
        write_raw(sink, files)
    else:
        raise ArchiveError(f'"{fmt}" format: unsupported archive format')


def upload_filename(name: str, fmt: str) -> str:
    """The multipart filename: base of `--name` (default `default`) + `.zip`/`.gz`/nothing."""
    base = os.path.basename(name.rstrip("/")) if name else ""
    if base in ("", "."):
        base = "default"
    if fmt in ("zip", "zipzstd"):
        return base + ".zip"
    if fmt == "gzip":
        return base + ".gz"
    if fmt == "tarzstd":
        return base + ".tar.zst"
    return base
