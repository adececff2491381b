"""Files-based cache keys, computed from a repository the way GitLab computes them."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from runnerfleet.cache.filekeys import resolve_cache_keys, resolve_key


def _git(repo: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(repo.parent), "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@example.com",
           "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, str, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    (work / "Gemfile.lock").write_text("gems 1\n")
    (work / "yarn.lock").write_text("yarn 1\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "one")
    first = _git(work, "rev-parse", "HEAD")
    (work / "pkg").mkdir()
    (work / "pkg" / "a.lock").write_text("a\n")
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "two")
    sha = _git(work, "rev-parse", "HEAD")
    blobs = {p: _git(work, "rev-parse", f"HEAD:{p}") for p in ("Gemfile.lock", "yarn.lock", "pkg/a.lock")}
    blobs["first"] = first
    return work / ".git", sha, blobs


def _sha1(*ids: str) -> str:
    return hashlib.sha1("-".join(sorted(set(ids))).encode()).hexdigest()


def test_files_key_hashes_the_blob_ids_with_the_prefix(tmp_path: Path) -> None:
    repo, sha, blobs = _repo(tmp_path)
    key = resolve_key({"files": ["Gemfile.lock", "yarn.lock", "missing.lock"], "prefix": "deps"}, repo, sha)
    assert key == "deps-" + _sha1(blobs["Gemfile.lock"], blobs["yarn.lock"])


def test_files_patterns_with_stars_are_expanded_over_the_tree(tmp_path: Path) -> None:
    repo, sha, blobs = _repo(tmp_path)
    assert resolve_key({"files": ["pkg/*.lock"]}, repo, sha) == _sha1(blobs["pkg/a.lock"])
    assert resolve_key({"files": ["**/*.lock"]}, repo, sha) == _sha1(
        blobs["Gemfile.lock"], blobs["yarn.lock"], blobs["pkg/a.lock"])
    assert resolve_key({"files": ["*.lock"]}, repo, sha) == _sha1(blobs["Gemfile.lock"], blobs["yarn.lock"])


def test_files_commits_key_hashes_the_last_commit_of_each_file(tmp_path: Path) -> None:
    repo, sha, blobs = _repo(tmp_path)
    key = resolve_key({"files_commits": ["Gemfile.lock", "pkg/a.lock"]}, repo, sha)
    assert key == _sha1(blobs["first"], sha)


def test_no_matching_file_gives_default_and_plain_keys_pass_through(tmp_path: Path) -> None:
    repo, sha, _ = _repo(tmp_path)
    assert resolve_key({"files": ["nope"], "prefix": "p"}, repo, sha) == "p-default"
    assert resolve_key({"files": ["nope"]}, repo, sha) == "default"
    entries = [{"key": "plain", "paths": ["x"]}, {"key": {"files": ["nope"]}}]
    assert resolve_cache_keys(entries, repo, sha) == [{"key": "plain", "paths": ["x"]}, {"key": "default"}]
