"""Glob patterns match paths the way gitlab-runner's doublestar matching does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runnerfleet.artifacts import globs


@pytest.mark.parametrize(("pattern", "path"), [
    ("*.txt", "a.txt"),
    ("dist/*.js", "dist/app.js"),
    ("dist/**", "dist"),
    ("dist/**", "dist/a/b/c.js"),
    ("**/*.log", "x.log"),
    ("**/*.log", "a/b/x.log"),
    ("a/**/b", "a/b"),
    ("a/**/b", "a/x/y/b"),
    ("file?.bin", "file1.bin"),
    ("[abc].txt", "b.txt"),
    ("[!abc].txt", "d.txt"),
    ("report.{xml,json}", "report.json"),
    ("{src,lib}/**/*.py", "lib/pkg/mod.py"),
    ("star\\*.txt", "star*.txt"),
    ("*", ".hidden"),
    ("**", "any/depth/at/all"),
])
def test_pattern_matches_path(pattern: str, path: str) -> None:
    assert globs.match(pattern, path)


@pytest.mark.parametrize(("pattern", "path"), [
    ("*.txt", "dir/a.txt"),
    ("dist/*.js", "dist/sub/app.js"),
    ("file?.bin", "file12.bin"),
    ("[!abc].txt", "a.txt"),
    ("[abc].txt", "/.txt"),
    ("report.{xml,json}", "report.yaml"),
    ("a/**/b", "a/bb"),
    ("star\\*.txt", "starx.txt"),
    ("dist/**", "distribution/x"),
])
def test_pattern_does_not_match_path(pattern: str, path: str) -> None:
    assert not globs.match(pattern, path)


def test_split_pattern_keeps_the_literal_directory_before_the_first_wildcard() -> None:
    assert globs.split_pattern("dist/**/*.js") == ("dist", "**/*.js")
    assert globs.split_pattern("*.txt") == (".", "*.txt")
    assert globs.split_pattern("a/b/c?") == ("a/b", "c?")


def _tree(root: Path, *paths: str) -> None:
    for p in paths:
        full = root / p
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(p)


def test_glob_walks_below_the_base_and_returns_files_and_directories(tmp_path: Path) -> None:
    _tree(tmp_path, "dist/a.js", "dist/sub/b.js", "dist/sub/c.css", "other/d.js")
    assert sorted(globs.glob("dist/**/*.js", str(tmp_path))) == ["dist/a.js", "dist/sub/b.js"]
    assert sorted(globs.glob("dist/*", str(tmp_path))) == ["dist/a.js", "dist/sub"]
    assert sorted(globs.glob("dist/**", str(tmp_path))) == [
        "dist", "dist/a.js", "dist/sub", "dist/sub/b.js", "dist/sub/c.css"]


def test_glob_of_a_literal_path_is_that_path_when_it_exists(tmp_path: Path) -> None:
    _tree(tmp_path, "build/out.bin")
    assert globs.glob("build/out.bin", str(tmp_path)) == ["build/out.bin"]
    assert globs.glob("build/missing.bin", str(tmp_path)) == []


def test_glob_does_not_descend_into_symlinked_directories(tmp_path: Path) -> None:
    _tree(tmp_path, "real/inner.txt")
    os.symlink("real", tmp_path / "link")
    assert sorted(globs.glob("**/*.txt", str(tmp_path))) == ["real/inner.txt"]
    assert sorted(globs.glob("*", str(tmp_path))) == ["link", "real"]
