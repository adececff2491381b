"""Selecting files for an archive: paths, exclude, untracked, and the log lines gitlab-runner prints."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runnerfleet.artifacts.files import collect
from tests.unit.artifacts.helpers import Lines, tree


def test_a_directory_path_brings_everything_below_it_sorted(tmp_path: Path) -> None:
    tree(tmp_path, {"dist/b.js": "b", "dist/a/c.js": "c", "src/x.py": "x"})
    log = Lines()
    files = collect(str(tmp_path), ["dist/"], reporter=log)
    assert files.sorted_paths() == ["dist", "dist/a", "dist/a/c.js", "dist/b.js"]
    assert "dist/: found 4 matching artifact files and directories" in log.text


def test_exclude_drops_matching_files_and_reports_the_count(tmp_path: Path) -> None:
    tree(tmp_path, {"dist/app.js": "", "dist/app.js.map": "", "dist/sub/x.map": ""})
    log = Lines()
    files = collect(str(tmp_path), ["dist"], exclude=["dist/**/*.map"], reporter=log)
    assert files.sorted_paths() == ["dist", "dist/app.js", "dist/sub"]
    assert "dist: found 3 matching artifact files and directories" in log.text
    assert "dist/**/*.map: excluded 2 files" in log.text


def test_a_path_that_matches_nothing_warns_with_the_working_directory(tmp_path: Path) -> None:
    log = Lines()
    files = collect(str(tmp_path), ["missing/*.txt"], reporter=log)
    assert len(files) == 0
    assert (f"WARNING: missing/*.txt: no matching files. Ensure that the artifact path is relative "
            f"to the working directory ({tmp_path})") in log.text


def test_paths_outside_the_project_are_refused_with_a_warning(tmp_path: Path) -> None:
    project = tmp_path / "project"
    tree(tmp_path, {"secret.txt": "s", "project/ok.txt": "o"})
    log = Lines()
    files = collect(str(project), ["../secret.txt", "ok.txt"], reporter=log)
    assert files.sorted_paths() == ["ok.txt"]
    assert "artifact path is not a subpath of project directory: ../secret.txt" in log.text


def test_symlinks_are_selected_as_links_and_not_followed(tmp_path: Path) -> None:
    tree(tmp_path, {"out/real/f.txt": "f", "elsewhere/g.txt": "g"})
    os.symlink("../elsewhere", tmp_path / "out" / "link")
    files = collect(str(tmp_path), ["out"], reporter=Lines())
    assert files.sorted_paths() == ["out", "out/link", "out/real", "out/real/f.txt"]


def test_untracked_takes_every_file_git_does_not_track_including_ignored_ones(tmp_path: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, env=env)
    tree(tmp_path, {"tracked.txt": "t", ".gitignore": "ignored.log\n"})
    subprocess.run(["git", "add", "tracked.txt", ".gitignore"], cwd=tmp_path, check=True, env=env)
    tree(tmp_path, {"new.txt": "n", "ignored.log": "i", "sub/deep.txt": "d"})
    log = Lines()
    files = collect(str(tmp_path), [], untracked=True, reporter=log)
    assert files.sorted_paths() == ["ignored.log", "new.txt", "sub/deep.txt"]
    assert "untracked: found 3 files" in log.text
