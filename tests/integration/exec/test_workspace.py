"""The project's commit reaches the coordinator's repository without copying its history."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runnerfleet.exec import workspace


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_publish_makes_the_commit_fetchable_with_no_object_copied(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q", "-b", "main")
    for i in range(30):
        (project / f"file{i}.txt").write_text(f"revision {i}\n" * 100)
        _git(project, "add", ".")
        _git(project, "commit", "-q", "-m", f"commit {i}")
    sha = _git(project, "rev-parse", "HEAD")
    bare = tmp_path / "coordinator.git"
    _git(tmp_path, "init", "-q", "--bare", str(bare))
    workspace.publish(project, sha, bare, "feature")
    assert _git(bare, "rev-parse", "refs/heads/feature") == sha
    counts = dict(line.split(": ") for line in _git(bare, "count-objects", "-v").splitlines())
    assert counts["count"] == "0" and counts["packs"] == "0"
    # A runner's shallow clone over the coordinator's repository gets the whole tree.
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{bare}",
         str(clone))
    assert (clone / "file29.txt").read_text() == "revision 29\n" * 100
