"""The streaming zip writer produces archives that zip tools and the extractor read back exactly."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from runnerfleet.artifacts.archive import write_zip
from runnerfleet.artifacts.extract import extract_zip
from runnerfleet.artifacts.files import collect
from runnerfleet.artifacts.zipwrite import ZipStreamWriter
from tests.unit.artifacts.helpers import Lines, listing, tree

UNUSUAL = {
    "out/with space.txt": "space",
    "out/ünïcødé-файл.txt": "unicode",
    "out/quote'\"$(echo pwned)`x`.txt": "shell",
    "out/-leading-dash": "dash",
    "out/new\nline.txt": "newline",
    "out/back\\slash.txt": "backslash",
}


class OneWayPipe(io.RawIOBase):
    """A sink that only accepts writes (no seek, no tell), like a socket."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self.data += b
        self.writes += 1
        return len(b)


def _archive(root: Path, paths: list[str]) -> bytes:
    sink = OneWayPipe()
    write_zip(sink, collect(str(root), paths, reporter=Lines()), reporter=Lines())
    return bytes(sink.data)


def test_files_directories_symlinks_and_unusual_names_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    tree(src, {**UNUSUAL, "out/bin/tool": "#!/bin/sh\n", "out/big.bin": os.urandom(3 << 20)})
    os.chmod(src / "out/bin/tool", 0o755)
    os.symlink("bin/tool", src / "out/tool-link")
    os.symlink("../../outside", src / "out/dangling")
    data = _archive(src, ["out"])
    archive = tmp_path / "a.zip"
    archive.write_bytes(data)

    dest = tmp_path / "dest"
    dest.mkdir()
    extract_zip(str(archive), str(dest), Lines())
    assert listing(dest) == listing(src)
    assert os.stat(dest / "out/bin/tool").st_mode & 0o777 == 0o755
    assert os.readlink(dest / "out/tool-link") == "bin/tool"


def test_the_archive_passes_unzip_integrity_check_and_python_zipfile(tmp_path: Path) -> None:
    tree(tmp_path / "src", {"a.txt": "a" * 1000, "d/b.txt": "b", **UNUSUAL})
    archive = tmp_path / "a.zip"
    archive.write_bytes(_archive(tmp_path / "src", ["a.txt", "d", "out"]))
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None
        assert zf.read("a.txt") == b"a" * 1000
        assert "out/ünïcødé-файл.txt" in zf.namelist()
    if shutil.which("unzip"):
        result = subprocess.run(["unzip", "-tq", str(archive)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_modification_times_are_restored_from_the_extra_field(tmp_path: Path) -> None:
    tree(tmp_path / "src", {"f.txt": "x"})
    os.utime(tmp_path / "src/f.txt", (1_600_000_000, 1_600_000_000))
    archive = tmp_path / "a.zip"
    archive.write_bytes(_archive(tmp_path / "src", ["f.txt"]))
    (tmp_path / "dest").mkdir()
    extract_zip(str(archive), str(tmp_path / "dest"), Lines())
    assert int(os.stat(tmp_path / "dest/f.txt").st_mtime) == 1_600_000_000


def test_output_reaches_the_sink_in_large_writes_not_per_header(tmp_path: Path) -> None:
    tree(tmp_path, {f"many/{i:04d}.txt": str(i) for i in range(2000)})
    sink = OneWayPipe()
    write_zip(sink, collect(str(tmp_path), ["many"], reporter=Lines()))
    assert sink.writes < 20
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as zf:
        assert len(zf.namelist()) == 2001


class Zeros(io.RawIOBase):
    """`size` zero bytes without allocating them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        self.left -= n
        return n


def test_an_entry_over_4_gib_is_written_as_zip64_and_reads_back(tmp_path: Path) -> None:
    size = (4 << 30) + 17
    st = os.stat_result((0o100644, 0, 0, 1, 0, 0, size, 0, 1_600_000_000, 0))
    sink = OneWayPipe()
    writer = ZipStreamWriter(sink, level=1)
    writer.add_stream(b"huge.bin", Zeros(size), st)
    writer.add_directory(b"after", os.stat_result((0o040755, 0, 0, 1, 0, 0, 0, 0, 1_600_000_000, 0)))
    writer.close()
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as zf:
        info = zf.getinfo("huge.bin")
        assert info.file_size == size
        assert zf.namelist() == ["huge.bin", "after/"]
        with zf.open(info) as member:
            member.seek(size - 4)
            assert member.read() == b"\0\0\0\0"


@pytest.mark.parametrize("level", [1, 9])
def test_compression_level_changes_size_not_content(tmp_path: Path, level: int) -> None:
    tree(tmp_path, {"t.txt": "lorem ipsum " * 5000})
    sink = OneWayPipe()
    write_zip(sink, collect(str(tmp_path), ["t.txt"], reporter=Lines()), level=level)
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as zf:
        assert zf.read("t.txt") == b"lorem ipsum " * 5000
