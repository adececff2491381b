"""The job journal: private files, atomic records, and only dead processes' records are leftovers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from runnerfleet.service.journal import JobRecord, Journal, journal_root, read_record
from runnerfleet.service.recovery import recovery_tail


def _record(journal: Journal, job_id: int = 7) -> JobRecord:
    trace = journal.directory / "runnerfleet-trace-x"
    trace.write_bytes(b"partial log")
    return JobRecord(job_id=job_id, url="http://gitlab.example", token="glcbt-secret",
                     trace_path=str(trace), runner="abcdefgh")


def test_records_are_0600_in_0700_directories_next_to_the_config(tmp_path: Path) -> None:
    root = journal_root(tmp_path / "etc" / "config.toml")
    assert root == tmp_path / "etc" / ".runnerfleet" / "jobs"
    journal = Journal(root)
    journal.open()
    journal.save(_record(journal))
    for directory in (root.parent, root, journal.directory):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    path = journal.record_path(7)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert JobRecord.from_json(path.read_text()).token == "glcbt-secret"
    assert [p.name for p in journal.directory.iterdir() if p.name.startswith(".tmp")] == []
    journal.remove(7)
    assert not path.exists()
    journal.close()
    assert not journal.directory.exists()  # nothing left: the directory goes too


def test_a_live_process_records_are_not_leftovers_but_a_dead_ones_are(tmp_path: Path) -> None:
    root = journal_root(tmp_path / "config.toml")
    mine = Journal(root)
    mine.open()
    # Another "runner process" that owns a journal and stays alive until told.
    code = (
        "import sys; from pathlib import Path; from runnerfleet.service.journal import *\n"
        f"j = Journal(Path({str(root)!r})); j.open()\n"
        "j.save(JobRecord(job_id=1, url='http://x', token='t', trace_path='/nonexistent'))\n"
        "print('ready', flush=True); sys.stdin.read()\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "ready"
    assert list(mine.dead_owners()) == []
    other.kill()
    other.wait()
    owners = list(mine.dead_owners())
    assert len(owners) == 1
    (path, record), = owners[0].records()
    assert record is not None and record.job_id == 1
    # While we hold it, a third process would not get it either.
    assert list(Journal(root).dead_owners()) == []
    path.unlink()
    owners[0].release()
    assert [p for p in root.iterdir() if p != mine.directory] == []


def test_an_unreadable_record_is_reported_as_none(tmp_path: Path) -> None:
    root = journal_root(tmp_path / "config.toml")
    dead = root / "deadbeef"
    dead.mkdir(parents=True)
    (dead / "3.json").write_text("{not json")
    journal = Journal(root)
    journal.open()
    (owner,) = list(journal.dead_owners())
    assert owner.records() == [(dead / "3.json", None)]
    owner.release()


def test_recovery_tail_is_one_error_line_on_its_own_line() -> None:
    tail = recovery_tail(b"half a line", timestamps=False)
    assert tail.startswith(b"\n\x1b[31;1mERROR: Job failed (system failure): ")
    assert tail.endswith(b"\x1b[0;m\n") and tail.count(b"\n") == 2
    stamped = recovery_tail(b"done\n", timestamps=True, clock=lambda: 1_700_000_000_123_456_000)
    assert stamped.startswith(b"2023-11-14T22:13:20.123456Z 00O ")
    assert os.linesep.encode() in stamped


def test_a_job_record_in_a_worker_slot_is_a_leftover_once_its_process_is_dead(
        tmp_path: Path) -> None:
    root = journal_root(tmp_path / "config.toml")
    code = (
        "import sys; from pathlib import Path; from runnerfleet.service.journal import *\n"
        f"j = Journal(Path({str(root)!r})); j.open(slots=2)\n"
        "busy, idle = j.take_slot(), j.take_slot()\n"
        "busy.write(JobRecord(job_id=41, url='http://x', token='t', trace_path='/nonexistent'))\n"
        "busy.sync(); j.give_back(idle)\n"
        "print('ready', flush=True); sys.stdin.read()\n"
    )
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "ready"
    other.kill()
    other.wait()
    mine = Journal(root)
    mine.open()
    (owner,) = list(mine.dead_owners())
    records = owner.records()
    # The idle slot is no leftover.
    assert [record.job_id if record else None for _, record in records] == [41]
    assert records[0][0].name.startswith("slot-")
    for path, _ in records:
        path.unlink()
    owner.release()
    assert [p.name for p in root.iterdir()] == [mine.directory.name]  # the dead one is gone


def test_a_slot_is_blanked_for_the_next_job_in_place_and_an_idle_journal_leaves_nothing(
        tmp_path: Path) -> None:
    journal = Journal(journal_root(tmp_path / "config.toml"))
    journal.open(slots=1)
    slot = journal.take_slot()
    inode = slot.path.stat().st_ino
    slot.write(_record(journal, job_id=1))
    big = _record(journal, job_id=2)
    big.url = "http://gitlab.example/" + "x" * 5000  # larger than one page: the slot grows
    slot.write(big)
    assert read_record(slot.path) == big
    small = _record(journal, job_id=3)
    slot.write(small)  # shorter again: nothing of the longer one remains
    assert read_record(slot.path) == small
    journal.give_back(slot)
    assert read_record(slot.path) is None
    assert journal.take_slot().path.stat().st_ino == inode  # the same file serves the next job
    assert stat.S_IMODE(slot.path.stat().st_mode) == 0o600
    journal.close()
    assert not journal.directory.exists()
