"""The working tree as one commit published in the coordinator's bare repository."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from runnerfleet.errors import RunnerfleetError

_AUTHOR = {"GIT_AUTHOR_NAME": "runnerfleet exec", "GIT_AUTHOR_EMAIL": "exec@localhost",
           "GIT_COMMITTER_NAME": "runnerfleet exec", "GIT_COMMITTER_EMAIL": "exec@localhost"}


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, timeout=300)
    if proc.returncode != 0:
        raise RunnerfleetError(f"exec: git {args[0]} in {cwd} failed: "
                               f"{proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip()


def toplevel(cwd: Path) -> Path:
    """The repository root above `cwd`, else an error saying what to do."""
    proc = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RunnerfleetError(f"exec: {cwd} is not inside a git repository; run it from a "
                               "project checkout (git init && git add . && git commit)")
    return Path(proc.stdout.strip())


def branch(root: Path) -> str:
    """The checked-out branch (`main` on a detached HEAD): the pipeline's ref."""
    proc = subprocess.run(["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=root,
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "main"


def _head(root: Path) -> str | None:
    proc = subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD^{commit}"], cwd=root,
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip() or None


def snapshot(root: Path, *, uncommitted: bool) -> str:
    """The commit to run: HEAD, or a commit of the working tree (tracked and untracked files
    that .gitignore does not exclude) on top of HEAD, made without touching the user's index."""
    head = _head(root)
    if not uncommitted:
        if head is None:
            raise RunnerfleetError(f"exec: {root} has no commit yet; commit your files or pass "
                                   "--uncommitted")
        return head
    with tempfile.TemporaryDirectory(prefix="runnerfleet-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **_AUTHOR}
        if head is not None:
            _git(root, "read-tree", head, env=env)
        _git(root, "add", "-A", ".", env=env)
        tree = _git(root, "write-tree", env=env)
    parents = ["-p", head] if head else []
    return _git(root, "commit-tree", tree, *parents, "-m", "runnerfleet exec: working tree",
                env=_AUTHOR)


def publish(root: Path, sha: str, repo: Path, ref: str) -> None:
    """Make `sha` the bare repository's `ref` without copying any object: the bare repository
    borrows the project's object store (git alternates), so a large history costs nothing."""
    objects = root / _git(root, "rev-parse", "--git-path", "objects")
    info = repo / "objects" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "alternates").write_text(f"{objects.resolve()}\n")
    _git(repo, "update-ref", f"refs/heads/{ref}", sha)
