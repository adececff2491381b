"""`cache:key:files` in a job sent to the coordinator reaches the runner as the key GitLab would compute."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.integration.artifacts.helpers import Api
from tests.unit.cache.test_filekeys import _git


def test_files_based_key_is_computed_from_the_projects_repository(api: Api, tmp_path: Path) -> None:
    r = api.admin.post("/-/projects", json={"path": "acme/shop"})
    assert r.status_code == 201, r.text
    bare = r.json()["repo_dir"]
    work = tmp_path / "work"
    work.mkdir()
    _git(work, "init", "-q", "-b", "main")
    (work / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
    _git(work, "add", ".")
    _git(work, "commit", "-q", "-m", "deps")
    _git(work, "push", "-q", bare, "main")
    blob = _git(work, "rev-parse", "HEAD:package-lock.json")

    taken = api.take(project="acme/shop", cache=[
        {"key": {"files": ["package-lock.json"], "prefix": "npm"}, "paths": ["node_modules/"]},
        {"key": "plain", "paths": ["x/"]}])
    keys = [c["key"] for c in taken.payload["cache"]]
    assert keys == [f"npm-{hashlib.sha1(blob.encode()).hexdigest()}", "plain"]
