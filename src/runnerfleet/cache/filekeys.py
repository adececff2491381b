"""`cache:key:files` / `files_commits` keys, computed from the repository as GitLab computes them.

GitLab turns a files-based key into a string before the runner sees it:
`files` → SHA-1 of the sorted, unique blob ids of the listed files at the pipeline's commit
(patterns with `*` are expanded over the commit's tree); `files_commits` → SHA-1 of the ids of
the last commits that changed each file; joined with `-`. The key is `<prefix>-<digest>`, with
`default` as the digest when no file exists. The coordinator uses this when it enqueues jobs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runnerfleet.artifacts.globs import match


def _git(repo: Path, *args: str) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(["git", f"--git-dir={repo}", *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    return proc.stdout if proc.returncode == 0 else None


def _unique(values: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, str) and value and value not in out:
            out.append(value)
    return out


def _expand(repo: Path, sha: str, patterns: list[str]) -> list[str]:
    tree: list[str] | None = None
    paths: list[str] = []
    for pattern in patterns:
        if "*" not in pattern:
            paths.append(pattern)
            continue
        if tree is None:
            listing = _git(repo, "ls-tree", "-r", "--name-only", "-z", sha) or ""
            tree = [p for p in listing.split("\0") if p]
        paths += [p for p in tree if match(pattern, p)]
    return _unique(paths)


def _digest(ids: list[str]) -> str | None:
    ids = sorted(set(i for i in ids if i))
    return hashlib.sha1("-".join(ids).encode()).hexdigest() if ids else None


def files_digest(repo: Path, sha: str, files: list[str]) -> str | None:
    ids = []
    for path in _expand(repo, sha, files):
        kind = (_git(repo, "cat-file", "-t", f"{sha}:{path}") or "").strip()
        if kind == "blob":
            ids.append((_git(repo, "rev-parse", f"{sha}:{path}") or "").strip())
    return _digest(ids)


def commits_digest(repo: Path, sha: str, files: list[str]) -> str | None:
    ids = [(_git(repo, "log", "-1", "--format=%H", sha, "--", path) or "").strip() for path in files]
    return _digest(ids)


def resolve_key(key: Any, repo: Path, sha: str | None) -> Any:
    """The string key GitLab sends for `key`; keys that are not files-based are returned as given."""
    if not isinstance(key, dict):
        return key
    prefix = key.get("prefix") if isinstance(key.get("prefix"), str) else ""
    digest: str | None = None
    if sha:
        if "files" in key:
            digest = files_digest(repo, sha, _unique(list(key.get("files") or [])))
        elif "files_commits" in key:
            digest = commits_digest(repo, sha, _unique(list(key.get("files_commits") or [])))
    return "-".join(part for part in (prefix, digest or "default") if part)


def resolve_cache_keys(entries: list[Any], repo: Path, sha: str | None) -> list[Any]:
    """Every `cache` entry with its files-based key (if any) turned into the string key."""
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("key"), dict):
            entry = {**entry, "key": resolve_key(entry["key"], repo, sha)}
        out.append(entry)
    return out
