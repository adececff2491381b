"""Crash-safe journal of in-flight jobs: one 0600 JSON record per job, next to config.toml.

Layout (all directories 0700):

    <config dir>/.runnerfleet/jobs/<owner>/lock          flock held by the live runner process
    <config dir>/.runnerfleet/jobs/<owner>/slot-<n>.json one per worker slot: the record of the
                                                         job that slot runs, or blanks when idle
    <config dir>/.runnerfleet/jobs/<owner>/<job id>.json a record kept after the job ended
                                                         (GitLab did not take its final state)
    <config dir>/.runnerfleet/jobs/<owner>/runnerfleet-trace-*   the jobs' log files

Each runner process owns one `<owner>` directory and holds an exclusive flock on its `lock` file
for its whole life. The kernel drops that lock when the process dies in any way (SIGKILL, OOM),
so a directory whose lock can be taken belongs to a dead process: its records are leftovers that
the next start reports to GitLab (see recovery.py). A live process's records are never touched.

Slot files exist so that a job's record costs one in-place write and one fdatasync on the pickup
path, instead of a temp file, fsync, rename and directory fsync per job: the file and its
directory entry were made durable once, when the slot was created, and a record is padded with
blanks to the slot's fixed size so the file's size never changes (JSON ignores trailing blanks).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runnerfleet.log import fields as log_fields

log = logging.getLogger("runnerfleet.service")

LOCK_NAME = "lock"
RECORD_SUFFIX = ".json"
SLOT_PREFIX = "slot-"
SLOT_SIZE = 4096  # one page: a record is far smaller; a larger one grows the slot


def journal_root(config_path: Path) -> Path:
    """`<config dir>/.runnerfleet/jobs`."""
    return Path(config_path).parent / ".runnerfleet" / "jobs"


@dataclass
class JobRecord:
    """What a later process needs to finish a job in GitLab: where, which job, its token, its log."""

    job_id: int
    url: str
    token: str  # the job token (secret: the record file is 0600 in a 0700 directory)
    trace_path: str
    runner: str = ""  # short runner token, for log lines only
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    certs_dir: str = ""
    timestamps: bool = True
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # Log size before the recovery's own error line was appended (None: not appended yet).
    recovery_tail_from: int | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobRecord:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(record.job_id, int) or not record.url or not record.token:
            raise ValueError("job_id, url or token missing")
        return record


def read_record(path: Path) -> JobRecord | None:
    """The record in a record or slot file; None for an idle (blank) slot.

    Raises OSError or ValueError for a file that cannot be read or is not a record."""
    text = path.read_text()
    if not text.strip():
        return None
    return JobRecord.from_json(text)


def _holds_record(path: Path) -> bool:
    try:
        return read_record(path) is not None
    except (OSError, ValueError, TypeError):
        return True  # unreadable: keep it for someone to look at


def _has_records(directory: Path) -> bool:
    return any(_holds_record(p) for p in directory.glob(f"*{RECORD_SUFFIX}"))


def _write_private(path: Path, text: str) -> None:
    """Atomically replace `path` with `text` (temp file in the same directory, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class JournalSlot:
    """One record file a worker reuses job after job: `write`, `sync`, then `clear` when done."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd = fd
        self._size = size

    @classmethod
    def create(cls, path: Path) -> JournalSlot:
        """A blank slot file whose data and size are durable (its directory entry is synced by
        the caller)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.pwrite(fd, b" " * SLOT_SIZE, 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, SLOT_SIZE)

    def write(self, record: JobRecord) -> None:
        """Put the record in place, not yet durable (a process crash keeps it: the page cache
        belongs to the kernel; `sync` makes it survive a power loss too)."""
        data = record.to_json().encode()
        if len(data) > self._size:
            self._size = -(-len(data) // SLOT_SIZE) * SLOT_SIZE
        os.pwrite(self._fd, data.ljust(self._size), 0)

    def sync(self) -> None:
        os.fdatasync(self._fd)

    def clear(self) -> None:
        """Blank the slot. Not synced: after a power loss the old record may come back, and
        the next start's report of it is refused by GitLab (the job is no longer running), which
        removes it; syncing here would cost every job a disk flush for that rare case."""
        os.pwrite(self._fd, b" " * self._size, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class Journal:
    """This process's journal directory; `open()` takes the ownership lock."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.directory = self.root / secrets.token_hex(8)
        self._lock_fd: int | None = None
        self._slots_lock = threading.Lock()
        self._free: list[JournalSlot] = []
        self._slot_count = 0

    def open(self, slots: int = 0) -> None:
        """Create the directories (0700), hold the lock and create `slots` idle slot files;
        raises OSError if impossible."""
        for path in (self.root.parent, self.root):
            _private_dir(path)
        # Locked under a hidden name first, so no other process ever sees it unlocked.
        staging = self.root / f".new-{self.directory.name}"
        _private_dir(staging)
        fd = _try_lock(staging / LOCK_NAME)
        if fd is None:
            raise OSError(f"cannot lock {staging / LOCK_NAME}")
        try:
            os.rename(staging, self.directory)
        except OSError:
            os.close(fd)
            raise
        self._lock_fd = fd
        self._free = [self._new_slot(sync_directory=False) for _ in range(slots)]
        _fsync_dir(self.directory)

    def _new_slot(self, *, sync_directory: bool = True) -> JournalSlot:
        with self._slots_lock:
            index = self._slot_count
            self._slot_count += 1
        slot = JournalSlot.create(self.directory / f"{SLOT_PREFIX}{index}{RECORD_SUFFIX}")
        if sync_directory:
            _fsync_dir(self.directory)
        return slot

    def take_slot(self) -> JournalSlot:
        """An idle slot for one job (a new one when all are busy); raises OSError."""
        with self._slots_lock:
            if self._free:
                return self._free.pop()
        return self._new_slot()

    def give_back(self, slot: JournalSlot) -> None:
        """The slot's job is settled: blank it and keep it for the next job."""
        try:
            slot.clear()
        except OSError as error:
            log.error("Cannot clear the job journal slot %s (%s); not using it again", slot.path,
                      error, extra=log_fields())
            slot.close()
            return
        with self._slots_lock:
            self._free.append(slot)

    @property
    def is_open(self) -> bool:
        return self._lock_fd is not None

    def record_path(self, job_id: int) -> Path:
        return self.directory / f"{job_id}{RECORD_SUFFIX}"

    def save(self, record: JobRecord) -> None:
        """Write the record atomically (before the job starts; again when it changes)."""
        _write_private(self.record_path(record.job_id), record.to_json())

    def remove(self, job_id: int) -> None:
        """Forget a job whose final update GitLab accepted (not synced, see `JournalSlot.clear`)."""
        with contextlib.suppress(FileNotFoundError):
            self.record_path(job_id).unlink()

    def close(self) -> None:
        """Release the lock; an empty directory is removed, one with records stays for later."""
        if self._lock_fd is None:
            return
        with self._slots_lock:
            free, self._free = self._free, []
        for slot in free:
            slot.close()
        if not _has_records(self.directory):
            shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None

    # -- leftovers of dead processes -----------------------------------------------------------
    def dead_owners(self) -> Iterator[DeadOwner]:
        """Directories of processes that are gone, each locked by us while it is handled."""
        try:
            candidates = sorted(p for p in self.root.iterdir()
                                if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for directory in candidates:
            if directory == self.directory:
                continue
            fd = _try_lock(directory / LOCK_NAME)
            if fd is None:
                continue  # a live runner process owns it
            yield DeadOwner(directory, fd)


class DeadOwner:
    """The journal directory of a runner process that died; locked while we work on it."""

    def __init__(self, directory: Path, lock_fd: int) -> None:
        self.directory = directory
        self._lock_fd: int | None = lock_fd

    def records(self) -> list[tuple[Path, JobRecord | None]]:
        """(file, record) per record file, oldest job first; None for an unreadable record.

        Idle (blank) slots are not records and are left out."""
        out: list[tuple[Path, JobRecord | None]] = []
        for path in sorted(self.directory.glob(f"*{RECORD_SUFFIX}")):
            try:
                record = read_record(path)
            except (OSError, ValueError, TypeError) as error:
                log.error("Cannot read the job journal record %s (%s); removing it", path, error,
                          extra=log_fields())
                out.append((path, None))
                continue
            if record is not None:
                out.append((path, record))
        out.sort(key=lambda item: item[1].job_id if item[1] is not None else -1)
        return out

    def save(self, path: Path, record: JobRecord) -> None:
        _write_private(path, record.to_json())

    def release(self) -> None:
        """Unlock; the directory is removed once no record is left in it."""
        if self._lock_fd is None:
            return
        if not _has_records(self.directory):
            shutil.rmtree(self.directory, ignore_errors=True)
        os.close(self._lock_fd)
        self._lock_fd = None


def describe(record: JobRecord) -> dict[str, Any]:
    """Log fields of a record (never the job token)."""
    return {"job": record.job_id, "runner": record.runner, "url": record.url}
