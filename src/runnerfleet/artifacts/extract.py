"""Safe, streaming extraction of zip archives into a directory (artifacts and caches).

Before anything is written, every entry name is checked: absolute names and `..` components are
refused for the whole archive, so a hostile archive writes nothing at all. Entries are then
written in archive order without following symbolic links out of the target: a parent directory
that resolves outside the target (through a link the archive or the job created) is refused.
File data is streamed into a temporary file next to its destination, checked against its CRC,
and only then renamed into place, so a corrupt member never leaves a half-written file behind.
Modes and modification times (gitlab-runner's 0x5455 extra field) are applied afterwards.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass

from runnerfleet.artifacts.report import Reporter

READ_BLOCK = 1 << 20
MAX_LINK_TARGET = 4096


class ExtractError(Exception):
    """The archive cannot be extracted; `str()` is one line naming the archive and the reason."""


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    name: str  # relative, slash-separated, checked
    kind: str  # "dir", "link", "file", "other"
    mode: int
    mtime: int | None


def _raw_name(info: zipfile.ZipInfo) -> str:
    """The entry name as the path bytes the archiver saw (zipfile decodes non-UTF-8 names as cp437)."""
    if info.flag_bits & 0x800:
        return info.orig_filename
    try:
        return os.fsdecode(info.orig_filename.encode("cp437"))
    except UnicodeEncodeError:
        return info.orig_filename


def _mtime_from_extra(extra: bytes) -> int | None:
    pos = 0
    while pos + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, pos)
        data = extra[pos + 4:pos + 4 + size]
        if kind == 0x5455 and len(data) >= 5 and data[0] & 1:
            return int(struct.unpack_from("<I", data, 1)[0])
        pos += 4 + size
    return None


def _kind(mode: int, name: str) -> str:
    if mode and stat.S_IFMT(mode):
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISLNK(mode):
            return "link"
        if stat.S_ISREG(mode):
            return "file"
        return "other"
    return "dir" if name.endswith("/") else "file"


def check_name(raw: str) -> str | None:
    """The normalised relative name, or None when it is absolute or climbs out with `..`."""
    # On POSIX a backslash is an ordinary file name character, as for gitlab-runner.
    name = raw.replace("\\", "/") if os.sep == "\\" else raw
    drive = os.sep == "\\" and len(name) > 1 and name[1] == ":"
    if not name or name.startswith("/") or "\0" in name or drive:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def plan(archive: zipfile.ZipFile, label: str) -> list[_Entry]:
    """Every entry checked; ExtractError for the first unsafe name (nothing is written then)."""
    entries: list[_Entry] = []
    for info in archive.infolist():
        raw = _raw_name(info)
        name = check_name(raw)
        if name is None:
            raise ExtractError(f"{label}: entry {raw!r} points outside the extraction directory; "
                               "refusing to extract this archive")
        if not name:
            continue
        mode = info.external_attr >> 16
        kind = _kind(mode, raw)
        perm = stat.S_IMODE(mode) or (0o777 if kind == "dir" else 0o666)
        entries.append(_Entry(info, name, kind, perm, _mtime_from_extra(info.extra)))
    return entries


class Extractor:
    """Extracts one opened archive into `root` (which must exist)."""

    def __init__(self, root: str, reporter: Reporter, label: str) -> None:
        self.root = os.path.realpath(root)
        self.reporter = reporter
        self.label = label
        self._warned: set[str] = set()

    def _inside(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + os.sep)

    def _parent(self, name: str) -> str:
        """The entry's parent directory, created as needed, never reached through an outside link."""
        parent = os.path.dirname(name)
        current = self.root
        for part in parent.split("/") if parent else []:
            current = os.path.join(current, part)
            if os.path.islink(current):
                resolved = os.path.realpath(current)
                if not self._inside(resolved):
                    raise ExtractError(f"{self.label}: {name}: parent {part!r} is a symbolic link "
                                       "leading outside the extraction directory; refusing to write")
                current = resolved
            elif not os.path.isdir(current):
                if os.path.lexists(current):
                    os.unlink(current)
                os.mkdir(current, 0o777)
        return current

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.reporter.warning(f"{message} (suppressing repeats)")

    def _file(self, archive: zipfile.ZipFile, entry: _Entry, parent: str) -> None:
        target = os.path.join(parent, os.path.basename(entry.name))
        fd, tmp = tempfile.mkstemp(prefix=".rf-extract-", dir=parent)
        try:
            with os.fdopen(fd, "wb") as out, archive.open(entry.info) as src:
                while block := src.read(READ_BLOCK):
                    out.write(block)
            if os.path.isdir(target) and not os.path.islink(target):
                raise ExtractError(f"{self.label}: {entry.name}: a directory is in the way of this file")
            os.replace(tmp, target)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ExtractError(f"{self.label}: {entry.name}: corrupt archive data ({exc}); "
                               "the archive is damaged, extraction stopped") from None
        except (NotImplementedError, RuntimeError) as exc:
            raise ExtractError(f"{self.label}: {entry.name}: {exc}; extraction stopped") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _link(self, archive: zipfile.ZipFile, entry: _Entry, parent: str) -> None:
        with archive.open(entry.info) as src:
            data = src.read(MAX_LINK_TARGET + 1)
        if len(data) > MAX_LINK_TARGET:
            raise ExtractError(f"{self.label}: {entry.name}: symbolic link target is too long")
        target = os.path.join(parent, os.path.basename(entry.name))
        if os.path.lexists(target) and not (os.path.isdir(target) and not os.path.islink(target)):
            os.unlink(target)
        os.symlink(os.fsdecode(data), target)

    def extract(self, archive: zipfile.ZipFile) -> int:
        """Extract every entry; returns how many were written."""
        entries = plan(archive, self.label)
        if any(e.name.split("/", 1)[0] == ".git" for e in entries):
            self.reporter.warning("Part of .git directory is on the list of files to extract")
            self.reporter.warning("This may introduce unexpected problems")
        written = 0
        for entry in entries:
            try:
                parent = self._parent(entry.name)
                if entry.kind == "dir":
                    path = os.path.join(parent, os.path.basename(entry.name))
                    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
                        os.unlink(path)
                    if not os.path.isdir(path):
                        os.mkdir(path, 0o700)
                elif entry.kind == "link":
                    self._link(archive, entry, parent)
                elif entry.kind == "file":
                    self._file(archive, entry, parent)
                else:
                    self.reporter.warning(f"File ignored: {entry.name!r}")
                    continue
                written += 1
            except OSError as exc:
                self._warn_once(type(exc).__name__, f"{entry.name}: {exc.strerror or exc}")
        self._finish(entries)
        return written

    def _finish(self, entries: list[_Entry]) -> None:
        """Modes and times last, so read-only directories do not block their own contents."""
        for entry in reversed(entries):
            if entry.kind not in ("dir", "file"):
                continue
            path = os.path.join(self.root, entry.name)
            try:
                if os.path.islink(path) or not self._inside(os.path.realpath(path)):
                    continue
                os.chmod(path, entry.mode)
                if entry.mtime is not None:
                    os.utime(path, (entry.mtime, entry.mtime))
            except OSError as exc:
                self._warn_once("finish", f"{entry.name}: {exc.strerror or exc}")


def extract_zip(path: str, root: str, reporter: Reporter | None = None) -> int:
    """Extract the zip file at `path` into `root`; ExtractError (one line) when it cannot."""
    label = os.path.basename(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ExtractError(f"{label}: not a valid zip archive ({exc}); nothing was extracted") from None
    except OSError as exc:
        raise ExtractError(f"{label}: {exc.strerror or exc}") from None
    with archive:
        return Extractor(root, reporter or Reporter(), label).extract(archive)


def detect_format(path: str) -> str:
    """zip, gzip or tarzstd from the file's magic bytes, as gitlab-runner's openArchive decides."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        return "tarzstd"
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    return "zip"


def extract_for_helper(path: str, root: str, reporter: Reporter) -> int:
    """A helper command's last step: extract the zip at `path` into `root`; exit status 0 or 1.

    Only zip is extracted (other formats are refused by name); every failure is logged as fatal.
    """
    fmt = detect_format(path)
    if fmt != "zip":
        reporter.fatal(f'"{fmt}" format: unsupported archive format')
        return 1
    try:
        extract_zip(path, root, reporter)
    except ExtractError as exc:
        reporter.fatal(str(exc))
        return 1
    return 0
