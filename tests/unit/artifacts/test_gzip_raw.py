"""gzip and raw artifact formats, as GitLab receives report artifacts."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from runnerfleet.artifacts.archive import ArchiveError, upload_filename, write_archive
from runnerfleet.artifacts.files import collect
from tests.unit.artifacts.helpers import Lines, tree


def test_gzip_writes_one_member_per_file_with_name_and_path_in_the_header(tmp_path: Path) -> None:
    tree(tmp_path, {"reports/a.xml": "<a/>", "reports/b.xml": "<b/>"})
    out = io.BytesIO()
    write_archive("gzip", out, collect(str(tmp_path), ["reports/*.xml"], reporter=Lines()))
    data = out.getvalue()
    assert gzip.decompress(data) == b"<a/><b/>"
    assert b"a.xml\0reports/a.xml\0" in data and b"b.xml\0reports/b.xml\0" in data


def test_gzip_escapes_non_ascii_names_like_gitlab_runner(tmp_path: Path) -> None:
    tree(tmp_path, {"r/résumé.xml": "x"})
    out = io.BytesIO()
    write_archive("gzip", out, collect(str(tmp_path), ["r/résumé.xml"], reporter=Lines()))
    assert b"e:r%C3%A9sum%C3%A9.xml\0e:r%2Fr%C3%A9sum%C3%A9.xml\0" in out.getvalue()


def test_gzip_refuses_a_directory(tmp_path: Path) -> None:
    tree(tmp_path, {"dir/x": "x"})
    with pytest.raises(ArchiveError, match='the "dir" is not a regular file'):
        write_archive("gzip", io.BytesIO(), collect(str(tmp_path), ["dir"], reporter=Lines()))


def test_raw_sends_the_single_file_byte_for_byte(tmp_path: Path) -> None:
    payload = os.urandom(100_000)
    tree(tmp_path, {"sast.json": payload, "other.json": "{}"})
    out = io.BytesIO()
    write_archive("raw", out, collect(str(tmp_path), ["sast.json"], reporter=Lines()))
    assert out.getvalue() == payload
    with pytest.raises(ArchiveError, match="only one file can be sent as raw"):
        write_archive("raw", io.BytesIO(), collect(str(tmp_path), ["*.json"], reporter=Lines()))


def test_upload_file_names_follow_the_format() -> None:
    assert upload_filename("artifacts", "zip") == "artifacts.zip"
    assert upload_filename("dir/junit", "gzip") == "junit.gz"
    assert upload_filename("", "raw") == "default"
    assert upload_filename("webapp-dist", "tarzstd") == "webapp-dist.tar.zst"
