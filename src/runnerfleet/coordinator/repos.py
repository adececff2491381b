"""Bare git repositories of the coordinator's projects: create, resolve refs, pipeline refs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from runnerfleet.errors import RunnerfleetError

ZERO_SHA = "0" * 40


class RepositoryError(RunnerfleetError):
    """A git command on a project repository failed; names the repository and the command."""


def _env() -> dict[str, str]:
    # Never let a caller's GIT_DIR/GIT_WORK_TREE point our commands at another repository.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", f"--git-dir={repo}", *args],
        capture_output=True, text=True, env=_env(), timeout=60, check=False,
    )
    if check and proc.returncode != 0:
        raise RepositoryError(
            f"coordinator: git {args[0]} in {repo} failed: {proc.stderr.strip() or proc.returncode}"
        )
    return proc


def repo_dir(repos_root: Path, full_path: str) -> Path:
    """`<data>/repos/<group>/<project>.git`."""
    return repos_root / f"{full_path}.git"


def init_bare(path: Path) -> None:
    """An empty bare repository whose HEAD is `main` (git's default would be `master`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["git", "init", "--bare", "-q", str(path)], capture_output=True,
                          text=True, env=_env(), timeout=60, check=False)
    if proc.returncode != 0:
        raise RepositoryError(f"coordinator: git init {path} failed: {proc.stderr.strip()}")
    _git(path, "symbolic-ref", "HEAD", "refs/heads/main")


def resolve(path: Path, ref: str) -> tuple[str, str] | None:
    """(sha, ref_type) of a branch or tag named `ref`; None when neither exists."""
    for prefix, ref_type in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        proc = _git(path, "rev-parse", "-q", "--verify", f"{prefix}{ref}^{{commit}}", check=False)
        if proc.returncode == 0:
            return proc.stdout.strip(), ref_type
    return None


def commit_exists(path: Path, sha: str) -> bool:
    return _git(path, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def commit_info(path: Path, sha: str) -> dict[str, str]:
    """Message, title, description, ISO timestamp and author of a commit."""
    proc = _git(path, "show", "-s", "--format=%cI%x00%an <%ae>%x00%B", sha)
    timestamp, author, message = proc.stdout.split("\x00", 2)
    message = message.rstrip("\n")
    title, _, description = message.partition("\n")
    return {
        "message": message,
        "title": title,
        "description": description.lstrip("\n"),
        "timestamp": timestamp,
        "author": author,
    }


def update_ref(path: Path, ref: str, sha: str) -> None:
    _git(path, "update-ref", ref, sha)
