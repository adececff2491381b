"""Where a job's files live: short token, project dir (§5.4 of the engine spec) and its `.tmp` dir."""

from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from runnerfleet.tokens import shorten_token


def short_token(token: str) -> str:
    """The runner token as it appears in build paths (gitlab-runner 18.2+)."""
    return shorten_token(token)


def project_path(repo_url: str, project_id: int) -> str:
    """`<namespace>/<project>` from the clone URL, or `project-<id>` when the URL has no usable path."""
    try:
        path = urlsplit(repo_url).path
    except ValueError:
        path = ""
    path = path.strip("/").removesuffix(".git").strip("/")
    parts = path.split("/") if path else []
    if not parts or any(p in ("", ".", "..") for p in parts):
        return f"project-{project_id}"
    return path


def project_dir(
    builds_dir: str,
    short_token: str,
    concurrent_project_id: int,
    repo_url: str,
    project_id: int,
    shared: bool,
    strategy: str = "fetch",
) -> str:
    """CI_PROJECT_DIR: shared builds dirs get `<short-token>/<concurrent project id>/` in front."""
    path = project_path(repo_url, project_id)
    if shared:
        path = posixpath.join(short_token, str(concurrent_project_id), path)
    result = posixpath.join(builds_dir, path)
    if strategy == "empty":
        result += "-empty"
    return result


def tmp_dir(project_dir: str) -> str:
    """The job's temp dir (file variables, git template, GITLAB_ENV): `<project dir>.tmp`."""
    return project_dir.rstrip("/") + ".tmp"
