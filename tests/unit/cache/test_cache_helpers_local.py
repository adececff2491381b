"""cache-archiver, cache-extractor and cache-init on the local cache (no URL), as job scripts run them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.unit.cache.helpers import runnerfleet

ARCHIVE = "../cache/proj/key-1/cache.zip"


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "vendor" / "lib").mkdir(parents=True)
    (project / "vendor" / "lib" / "a.py").write_text("print('a')\n")
    (project / "vendor" / "b.txt").write_text("b")
    return project


def test_archiver_writes_the_archive_and_metadata_and_extractor_restores_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    ran = runnerfleet(project, "cache-archiver", "--file", ARCHIVE, "--timeout", "10", "--path", "vendor/",
                      env={"CACHE_METADATA": '{"cachekey":"key-1"}'})
    assert ran.code == 0, ran.output
    assert "vendor/: found 4 matching artifact files and directories" in ran.output
    assert "No URL provided, cache will not be uploaded to shared cache server. Cache will be stored " \
           "only locally." in ran.output
    archive = project / ARCHIVE
    assert archive.is_file()
    assert json.loads((archive.parent / "metadata.json").read_text()) == {"cachekey": "key-1"}

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    ran = runnerfleet(fresh, "cache-extractor", "--file", ARCHIVE, "--timeout", "10")
    assert ran.code == 0, ran.output
    assert "No URL provided, cache will not be downloaded from shared cache server. Instead a local " \
           "version of cache will be extracted." in ran.output
    assert (fresh / "vendor/lib/a.py").read_text() == "print('a')\n"


def test_unchanged_files_keep_the_archive_as_is(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert runnerfleet(project, "cache-archiver", "--file", ARCHIVE, "--path", "vendor").code == 0
    before = (project / ARCHIVE).stat().st_mtime_ns
    ran = runnerfleet(project, "cache-archiver", "--file", ARCHIVE, "--path", "vendor")
    assert ran.code == 0 and "Archive is up to date!" in ran.output
    assert (project / ARCHIVE).stat().st_mtime_ns == before


def test_no_files_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    ran = runnerfleet(tmp_path, "cache-archiver", "--file", ARCHIVE, "--path", "nothing-here/")
    assert ran.code == 0
    assert "WARNING: No files to cache." in ran.output
    assert not (tmp_path / ARCHIVE).exists()


def test_extracting_a_missing_local_cache_exits_1_with_a_warning(tmp_path: Path) -> None:
    ran = runnerfleet(tmp_path, "cache-extractor", "--file", ARCHIVE)
    assert ran.code == 1
    assert "WARNING: Cache file does not exist" in ran.output
    assert "Traceback" not in ran.output


def test_cache_init_makes_directories_writable_for_everyone(tmp_path: Path) -> None:
    target = tmp_path / "volume"
    target.mkdir(mode=0o700)
    os.chmod(target, 0o700)
    ran = runnerfleet(tmp_path, "cache-init", str(target))
    assert ran.code == 0, ran.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o777
    ran = runnerfleet(tmp_path, "cache-init")
    assert ran.code == 1 and "FATAL: No arguments passed, at least 1 path is required." in ran.output


def test_bad_flag_values_are_one_fatal_line_not_a_traceback(tmp_path: Path) -> None:
    ran = runnerfleet(tmp_path, "cache-extractor", "--file", "x", "--retry-time", "soon")
    assert ran.code == 1
    assert 'FATAL: --retry-time: expected a duration like "1h0m0s" or "10m", got "soon"' in ran.output
    ran = runnerfleet(tmp_path, "artifacts-uploader", "--bogus")
    assert ran.code == 1 and "FATAL: runnerfleet: unrecognized arguments: --bogus" in ran.output
    assert "Traceback" not in ran.output


def test_uploader_without_credentials_fails_like_gitlab_runner(tmp_path: Path) -> None:
    env = {"CI_SERVER_URL": "", "CI_JOB_TOKEN": "", "CI_JOB_ID": ""}
    ran = runnerfleet(tmp_path, "artifacts-uploader", "--path", "x", env=env)
    assert ran.code == 1 and "FATAL: Missing runner credentials" in ran.output
    ran = runnerfleet(tmp_path, "artifacts-downloader", env=env)
    assert ran.code == 1
    assert "WARNING: Missing URL (--url)" in ran.output and "FATAL: Incomplete arguments" in ran.output
