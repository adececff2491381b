"""Git smart HTTP with real `git`: clone with the job token, auth failures, admin push."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.fixtures.coordinator import RunningCoordinator
from tests.integration.coordinator.jobs_helpers import (
    create_project,
    enqueue,
    job,
    put,
    request_job,
)


def _git(*args: str, cwd: Path | None = None, check: bool = True,
         trace_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("GIT_")}
    if trace_file is not None:
        env["GIT_TRACE_CURL"] = str(trace_file)  # request headers, to see what git sent
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL":
                "test@example.com", "GIT_COMMITTER_NAME": "Test",
                "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(cwd or Path.cwd())})
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=check)


def _worktree(tmp_path: Path, name: str = "work") -> Path:
    work = tmp_path / name
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    (work / "README.md").write_text("hello from the project\n")
    _git("add", "README.md", cwd=work)
    _git("commit", "-q", "-m", "First commit\n\nWith a body.", cwd=work)
    return work


def _project_with_commit(coordinator: RunningCoordinator, tmp_path: Path,
                         path: str = "group/app") -> tuple[dict[str, Any], str]:
    project = create_project(coordinator, path)
    work = _worktree(tmp_path)
    _git("push", "-q", project["repo_dir"], "main", cwd=work)
    sha = _git("rev-parse", "HEAD", cwd=work).stdout.strip()
    return project, sha


def _running_payload(coordinator: RunningCoordinator, api: httpx.Client,
                     project: str) -> dict[str, Any]:
    token = coordinator.create_runner()["token"]
    enqueue(coordinator, project=project)
    r = request_job(api, token)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_project_is_a_bare_repo_with_head_on_main(coordinator: RunningCoordinator) -> None:
    project = create_project(coordinator, "acme/webapp")
    repo = Path(project["repo_dir"])
    assert repo == coordinator.data_dir / "repos" / "acme" / "webapp.git"
    assert (repo / "HEAD").read_text().strip() == "ref: refs/heads/main"
    with coordinator._admin() as c:
        r = c.post("/-/projects", json={"path": "acme/webapp"})
        assert (r.status_code, r.json()) == (400, {"message": {"path": ["has already been taken"]}})
        r = c.post("/-/projects", json={"path": "../escape"})
        assert r.status_code == 400


def test_job_gets_the_ref_head_commit_and_a_persistent_pipeline_ref(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    project, sha = _project_with_commit(coordinator, tmp_path)
    p = _running_payload(coordinator, api, "group/app")
    assert p["git_info"]["sha"] == sha
    variables = {v["key"]: v["value"] for v in p["variables"]}
    assert variables["CI_COMMIT_SHA"] == sha and variables["CI_COMMIT_SHORT_SHA"] == sha[:8]
    assert variables["CI_COMMIT_TITLE"] == "First commit"
    assert variables["CI_COMMIT_MESSAGE"] == "First commit\n\nWith a body."
    assert variables["CI_COMMIT_AUTHOR"] == "Test <test@example.com>"
    pipeline = variables["CI_PIPELINE_ID"]
    refs = _git("--git-dir", project["repo_dir"], "for-each-ref", "--format=%(refname) %(objectname)")
    assert f"refs/pipelines/{pipeline} {sha}" in refs.stdout.splitlines()


def test_git_clone_with_the_job_token_url_and_fetch_of_the_pipeline_refspec(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    _, sha = _project_with_commit(coordinator, tmp_path)
    p = _running_payload(coordinator, api, "group/app")
    clone = tmp_path / "clone"
    _git("clone", "-q", p["git_info"]["repo_url"], str(clone), cwd=tmp_path)
    assert (clone / "README.md").read_text() == "hello from the project\n"
    assert _git("rev-parse", "HEAD", cwd=clone).stdout.strip() == sha
    # What gitlab-runner does: init + fetch of the payload's refspecs with a depth.
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    _git("init", "-q", cwd=fetched)
    _git("fetch", "-q", "--depth", str(p["git_info"]["depth"]), p["git_info"]["repo_url"],
         *p["git_info"]["refspecs"], cwd=fetched)
    pipeline_ref = p["git_info"]["refspecs"][0].split(":")[1]
    assert _git("rev-parse", pipeline_ref, cwd=fetched).stdout.strip() == sha


def test_anonymous_git_request_is_challenged_with_basic_realm_gitlab(
    coordinator: RunningCoordinator, tmp_path: Path
) -> None:
    _project_with_commit(coordinator, tmp_path)
    with httpx.Client(base_url=coordinator.url, trust_env=False) as c:
        r = c.get("/group/app.git/info/refs", params={"service": "git-upload-pack"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="GitLab"'


def test_wrong_or_finished_job_token_fails_authentication(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    _project_with_commit(coordinator, tmp_path)
    p = _running_payload(coordinator, api, "group/app")
    wrong = p["git_info"]["repo_url"].replace(p["token"], "glcbt-wrongwrongwrong")
    r = _git("clone", "-q", wrong, str(tmp_path / "c1"), cwd=tmp_path, check=False)
    assert r.returncode != 0
    assert "Authentication failed" in r.stderr
    put(api, p, state="success")
    r = _git("clone", "-q", p["git_info"]["repo_url"], str(tmp_path / "c2"), cwd=tmp_path,
             check=False)
    assert r.returncode != 0 and "Authentication failed" in r.stderr


def test_job_token_cannot_read_another_project(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    _project_with_commit(coordinator, tmp_path)
    create_project(coordinator, "other/secret")
    p = _running_payload(coordinator, api, "group/app")
    url = p["git_info"]["repo_url"].replace("group/app.git", "other/secret.git")
    r = _git("clone", "-q", url, str(tmp_path / "c"), cwd=tmp_path, check=False)
    assert r.returncode != 0
    assert "not found" in r.stderr


def test_job_token_cannot_push(coordinator: RunningCoordinator, api: httpx.Client,
                               tmp_path: Path) -> None:
    _project_with_commit(coordinator, tmp_path)
    p = _running_payload(coordinator, api, "group/app")
    work = _worktree(tmp_path, "other-work")
    r = _git("push", "-q", p["git_info"]["repo_url"], "main:refs/heads/from-job", cwd=work,
             check=False)
    assert r.returncode != 0
    assert "403" in r.stderr or "not allowed" in r.stderr


def test_admin_pat_pushes_over_http_and_the_job_sees_the_push(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    create_project(coordinator, "pushed/app")
    work = _worktree(tmp_path)
    host = coordinator.url.split("://", 1)[1]
    url = f"http://root:{coordinator.admin_token}@{host}/pushed/app.git"
    # Enough data for git to gzip and chunk the receive-pack request.
    for i in range(30):
        (work / f"file{i}.bin").write_bytes(os.urandom(40_000))
    _git("add", ".", cwd=work)
    _git("commit", "-q", "-m", "Big files", cwd=work)
    r = _git("-c", "http.postBuffer=65536", "push", "-q", url, "main", "main:refs/heads/second",
             cwd=work, check=False)
    assert r.returncode == 0, r.stderr
    sha = _git("rev-parse", "HEAD", cwd=work).stdout.strip()
    created = enqueue(coordinator, project="pushed/app", ref="second")
    assert job(coordinator, created["id"])["sha"] == sha
    wrong = f"http://root:glpat-wrong@{host}/pushed/app.git"
    r = _git("push", "-q", wrong, "main:refs/heads/third", cwd=work, check=False)
    assert r.returncode != 0 and "Authentication failed" in r.stderr


def test_tag_ref_is_announced_as_a_tag(coordinator: RunningCoordinator, api: httpx.Client,
                                       tmp_path: Path) -> None:
    project = create_project(coordinator, "tags/app")
    work = _worktree(tmp_path)
    _git("tag", "v1.0", cwd=work)
    _git("push", "-q", project["repo_dir"], "main", "v1.0", cwd=work)
    token = coordinator.create_runner()["token"]
    enqueue(coordinator, project="tags/app", ref="v1.0")
    p = request_job(api, token).json()
    assert p["git_info"]["ref_type"] == "tag"
    assert p["git_info"]["refspecs"][1] == "+refs/tags/v1.0:refs/tags/v1.0"
    variables = {v["key"]: v["value"] for v in p["variables"]}
    assert variables["CI_COMMIT_TAG"] == "v1.0" and "CI_COMMIT_BRANCH" not in variables


def test_clone_of_many_branches_sends_gzip_bodies_through_to_git(
    coordinator: RunningCoordinator, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(coordinator, "many/branches")
    work = _worktree(tmp_path)
    for i in range(200):
        _git("branch", f"feature/branch-number-{i:03d}", cwd=work)
    _git("push", "-q", project["repo_dir"], "--all", cwd=work)
    p = _running_payload(coordinator, api, "many/branches")
    env_trace = tmp_path / "curl-trace"
    r = _git("clone", "--mirror", p["git_info"]["repo_url"], str(tmp_path / "mirror"),
             cwd=tmp_path, check=False, trace_file=env_trace)
    assert r.returncode == 0, r.stderr
    assert "Content-Encoding: gzip" in env_trace.read_text(errors="replace")
    branches = _git("--git-dir", str(tmp_path / "mirror"), "branch", "--list", "feature/*")
    assert len(branches.stdout.splitlines()) == 200
