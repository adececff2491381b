"""Extraction refuses hostile or corrupt archives without writing outside the target directory."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from runnerfleet.artifacts.extract import ExtractError, detect_format, extract_zip
from tests.unit.artifacts.helpers import Lines, listing


def _zip(path: Path, entries: list[tuple[str, bytes, int]]) -> None:
    """Write a zip with Python's zipfile: (name, data, unix mode incl. type bits)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            info.create_system = 3
            zf.writestr(info, data)


@pytest.mark.parametrize("evil", ["../escaped.txt", "a/../../escaped.txt", "/tmp/abs-escape.txt"])
def test_entries_leaving_the_directory_refuse_the_whole_archive(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "evil.zip"
    _zip(archive, [("good.txt", b"fine", 0o100644), (evil, b"evil", 0o100644)])
    dest = tmp_path / "build" / "project"
    dest.mkdir(parents=True)
    with pytest.raises(ExtractError) as err:
        extract_zip(str(archive), str(dest), Lines())
    assert str(err.value) == (f"evil.zip: entry {evil!r} points outside the extraction directory; "
                              "refusing to extract this archive")
    assert listing(dest) == {}  # not even the good entry
    assert not (tmp_path / "build" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()


def test_a_symlink_entry_cannot_be_used_to_write_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    archive = tmp_path / "link.zip"
    _zip(archive, [("sneaky", str(outside).encode(), 0o120777),
                   ("sneaky/planted.txt", b"x", 0o100644)])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExtractError, match="symbolic link leading outside the extraction directory"):
        extract_zip(str(archive), str(dest), Lines())
    assert list(outside.iterdir()) == []


def test_a_truncated_download_is_a_clear_failure_with_nothing_extracted(tmp_path: Path) -> None:
    good = tmp_path / "good.zip"
    _zip(good, [("a.txt", b"a" * 10000, 0o100644)])
    broken = tmp_path / "artifacts.zip"
    broken.write_bytes(good.read_bytes()[:-30])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExtractError) as err:
        extract_zip(str(broken), str(dest), Lines())
    assert str(err.value).startswith("artifacts.zip: not a valid zip archive")
    assert listing(dest) == {}


def test_corrupt_member_data_stops_extraction_and_leaves_no_partial_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("first.txt", b"first")
        zf.writestr("second.bin", os.urandom(200_000))
    data = bytearray(buf.getvalue())
    start = data.index(b"second.bin") + len("second.bin") + 5000
    data[start:start + 64] = bytes(64)  # damage the deflate stream of the second member
    archive = tmp_path / "artifacts.zip"
    archive.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ExtractError) as err:
        extract_zip(str(archive), str(dest), Lines())
    assert "second.bin: corrupt archive data" in str(err.value)
    assert listing(dest) == {"first.txt": "first"}


def test_files_replace_existing_ones_and_directories_merge(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    (dest / "dir").mkdir(parents=True)
    (dest / "dir" / "kept.txt").write_text("kept")
    (dest / "dir" / "over.txt").write_text("old")
    archive = tmp_path / "a.zip"
    _zip(archive, [("dir/", b"", 0o40755), ("dir/over.txt", b"new", 0o100600)])
    extract_zip(str(archive), str(dest), Lines())
    assert listing(dest) == {"dir": "dir", "dir/kept.txt": "kept", "dir/over.txt": "new"}
    assert os.stat(dest / "dir/over.txt").st_mode & 0o777 == 0o600


def test_archives_without_unix_modes_get_readable_files(tmp_path: Path) -> None:
    archive = tmp_path / "dos.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("plain/readme.txt", b"hi")
    dest = tmp_path / "dest"
    dest.mkdir()
    extract_zip(str(archive), str(dest), Lines())
    assert (dest / "plain/readme.txt").read_text() == "hi"


def test_git_entries_are_extracted_with_gitlab_runners_warning(tmp_path: Path) -> None:
    archive = tmp_path / "git.zip"
    _zip(archive, [(".git/config", b"[core]", 0o100644)])
    dest = tmp_path / "dest"
    dest.mkdir()
    log = Lines()
    extract_zip(str(archive), str(dest), log)
    assert "WARNING: Part of .git directory is on the list of files to extract" in log.text


def test_format_is_detected_from_magic_bytes(tmp_path: Path) -> None:
    (tmp_path / "z").write_bytes(b"PK\x03\x04rest")
    (tmp_path / "g").write_bytes(b"\x1f\x8b\x08\x00")
    (tmp_path / "t").write_bytes(b"\x28\xb5\x2f\xfdxx")
    assert [detect_format(str(tmp_path / n)) for n in "zgt"] == ["zip", "gzip", "tarzstd"]
