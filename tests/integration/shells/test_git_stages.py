"""Generated stage scripts run with real bash and git against a file:// repository."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.job import JobPayload, JobVariables, Variable
from runnerfleet.shells import BuildInfo, generate

pytestmark = pytest.mark.integration


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@dataclass
class World:
    root: Path
    env: dict[str, str]
    bare: Path
    sha: str
    first_sha: str


def _repo(path: Path, env: dict[str, str], files: dict[str, str]) -> None:
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main", env=env)
    for name, content in files.items():
        (path / name).write_text(content)
    _git(path, "add", ".", env=env)
    _git(path, "commit", "-q", "-m", "init", env=env)


@pytest.fixture
def world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LANG": "C.UTF-8",
           "GIT_CONFIG_NOSYSTEM": "1"}
    (home / ".gitconfig").write_text(
        "[user]\n\tname = CI\n\temail = ci@example.com\n[protocol \"file\"]\n\tallow = always\n"
    )
    _repo(tmp_path / "src" / "inner", env, {"inner.txt": "inner\n"})
    _repo(tmp_path / "src" / "sub", env, {"sub.txt": "sub\n"})
    sub = tmp_path / "src" / "sub"
    _git(sub, "submodule", "add", "-q", f"file://{tmp_path}/src/inner", "inner", env=env)
    _git(sub, "commit", "-q", "-m", "add inner", env=env)
    main = tmp_path / "src" / "main"
    _repo(main, env, {"a.txt": "one\n", ".gitignore": "ignored.txt\n"})
    first = _git(main, "rev-parse", "HEAD", env=env)
    _git(main, "tag", "v1", env=env)
    _git(main, "submodule", "add", "-q", f"file://{sub}", "sub", env=env)
    (main / "b.txt").write_text("two\n")
    _git(main, "add", ".", env=env)
    _git(main, "commit", "-q", "-m", "second", env=env)
    (main / "c.txt").write_text("three\n")
    _git(main, "add", ".", env=env)
    _git(main, "commit", "-q", "-m", "third", env=env)
    sha = _git(main, "rev-parse", "HEAD", env=env)
    bare = tmp_path / "acme" / "webapp.git"
    _git(tmp_path, "clone", "-q", "--bare", str(main), str(bare), env=env)
    _git(bare, "update-ref", "refs/pipelines/1", sha, env=env)
    return World(tmp_path, env, bare, sha, first)


def _build(world: World, *, variables: dict[str, str] | None = None, depth: int = 0,
           steps: list[dict[str, Any]] | None = None, repo_url: str = "", **kwargs: Any) -> BuildInfo:
    refspecs = ["+refs/pipelines/1:refs/pipelines/1"]
    refspecs += (["+refs/heads/main:refs/remotes/origin/main"] if depth
                 else ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"])
    payload = JobPayload.from_json({
        "id": 7, "token": "glcbt-SECRETTOKEN", "allow_git_fetch": True,
        "git_info": {"repo_url": repo_url or f"file://{world.bare}", "ref": "main", "sha": world.sha,
                     "ref_type": "branch", "refspecs": refspecs, "depth": depth},
        "steps": steps or [{"name": "script", "script": ["echo hello"]}],
    })
    job_vars = JobVariables(Variable(k, v, public=True) for k, v in (variables or {}).items())
    return BuildInfo(payload=payload, project_dir=str(world.root / "builds" / "acme" / "webapp"),
                     builds_dir=str(world.root / "builds"), variables=job_vars, **kwargs)


def _run(world: World, build: BuildInfo, stage: str) -> subprocess.CompletedProcess[str]:
    script = generate(stage, build)
    assert script is not None
    # The shell executor feeds the script on stdin.
    return subprocess.run(["bash"], input=script, cwd=world.root, env=world.env, capture_output=True,
                          text=True, check=False)


def _ok(world: World, build: BuildInfo, stage: str) -> str:
    result = _run(world, build, stage)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _project(build: BuildInfo) -> Path:
    return Path(build.project_dir)


def test_clone_checks_out_the_exact_sha_as_detached_head_and_fetch_reuses_the_dir(world: World) -> None:
    build = _build(world, variables={"GIT_STRATEGY": "clone"})
    _ok(world, build, "prepare_script")
    out = _ok(world, build, "get_sources")
    assert f"Checking out {world.sha[:8]} as detached HEAD (ref is main)..." in out
    project = _project(build)
    assert _git(project, "rev-parse", "HEAD", env=world.env) == world.sha
    detached = subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=project, env=world.env,
                              check=False, capture_output=True)
    assert detached.returncode == 1
    assert (project / "c.txt").read_text() == "three\n"
    marker = project / ".git" / "marker"
    marker.write_text("kept")
    _ok(world, _build(world), "get_sources")  # default strategy: fetch (allow_git_fetch)
    assert marker.exists()
    _ok(world, build, "get_sources")  # clone removes the directory first
    assert not marker.exists()


def test_git_clean_removes_untracked_files_unless_disabled(world: World) -> None:
    build = _build(world)
    _ok(world, build, "get_sources")
    project = _project(build)
    (project / "untracked.txt").write_text("x")
    (project / "ignored.txt").write_text("x")
    _ok(world, _build(world, variables={"GIT_CLEAN_FLAGS": "-ffd"}), "get_sources")
    assert not (project / "untracked.txt").exists() and (project / "ignored.txt").exists()
    (project / "untracked.txt").write_text("x")
    _ok(world, _build(world, variables={"GIT_CLEAN_FLAGS": "none"}), "get_sources")
    assert (project / "untracked.txt").exists()
    _ok(world, build, "get_sources")
    assert not (project / "untracked.txt").exists() and not (project / "ignored.txt").exists()


def test_depth_makes_a_shallow_clone_and_depth_zero_unshallows_it(world: World) -> None:
    shallow = _build(world, depth=1)
    out = _ok(world, shallow, "get_sources")
    assert "Fetching changes with git depth set to 1..." in out
    project = _project(shallow)
    assert _git(project, "rev-list", "--count", "HEAD", env=world.env) == "1"
    _ok(world, _build(world), "get_sources")
    assert _git(project, "rev-list", "--count", "HEAD", env=world.env) == "3"
    assert not (project / ".git" / "shallow").exists()
    assert _git(project, "rev-parse", "v1", env=world.env) == world.first_sha


def test_none_and_empty_strategies_skip_git(world: World) -> None:
    out = _ok(world, _build(world, variables={"GIT_STRATEGY": "none"}), "get_sources")
    assert "Skipping Git repository setup" in out
    project = world.root / "builds" / "acme" / "webapp"
    assert project.is_dir() and not (project / ".git").exists()
    (project / "leftover").write_text("x")
    _ok(world, _build(world, variables={"GIT_STRATEGY": "empty"}), "get_sources")
    assert project.is_dir() and list(project.iterdir()) == []


@pytest.mark.parametrize(("strategy", "inner_checked_out"), [("normal", False), ("recursive", True)])
def test_submodule_strategies(world: World, strategy: str, inner_checked_out: bool) -> None:
    build = _build(world, variables={"GIT_SUBMODULE_STRATEGY": strategy})
    _ok(world, build, "get_sources")
    project = _project(build)
    assert (project / "sub" / "sub.txt").read_text() == "sub\n"
    assert (project / "sub" / "inner" / "inner.txt").exists() is inner_checked_out
    no_submodules = _build(world)
    _ok(world, no_submodules, "get_sources")


def test_a_failing_command_stops_the_step_and_after_script_sees_the_status(world: World) -> None:
    build = _build(world, steps=[
        {"name": "script", "script": ["echo before", "exit 3", "echo after"]},
        {"name": "after_script", "script": ['echo "status=$CI_JOB_STATUS"'], "when": "always"},
    ])
    _ok(world, build, "get_sources")
    result = _run(world, build, "step_script")
    assert result.returncode == 3
    assert "before\n" in result.stdout and "after\n" not in result.stdout
    build.job_status = "failed"
    assert "status=failed\n" in _ok(world, build, "after_script")


def test_file_variables_exist_with_mode_0600_during_the_step_and_are_gone_after_cleanup(world: World) -> None:
    build = _build(world, steps=[{"name": "script", "script": [
        'stat -c %a "$KEY_FILE"', 'printf "[%s]" "$(cat "$KEY_FILE")"', 'echo "$KEY_FILE"']}])
    build.variables.append(Variable("KEY_FILE", "line1\nline2 'q'", file=True))
    _ok(world, build, "get_sources")
    out = _ok(world, build, "step_script")
    path = Path(out.strip().splitlines()[-1])
    assert "600\n" in out and "[line1\nline2 'q']" in out
    assert path == Path(build.tmp_dir) / "KEY_FILE"
    _ok(world, build, "cleanup_file_variables")
    assert not path.exists()
    assert not (Path(build.tmp_dir) / ".gitlab-runner.ext.conf").exists()


def test_gitlab_env_passes_a_value_to_a_later_stage(world: World) -> None:
    build = _build(world, steps=[
        {"name": "script", "script": ['echo "FROM_STEP=hello world" >> "$GITLAB_ENV"']},
        {"name": "after_script", "script": ['echo "got=$FROM_STEP"']},
    ])
    _ok(world, build, "get_sources")
    _ok(world, build, "step_script")
    assert "got=hello world\n" in _ok(world, build, "after_script")
    _ok(world, build, "cleanup_file_variables")
    assert "got=\n" in _ok(world, build, "after_script")


def test_the_job_token_never_lands_in_git_config(world: World) -> None:
    # An unreachable loopback port: the fetch fails, but the repository is configured by then.
    url = "https://gitlab-ci-token:glcbt-SECRETTOKEN@127.0.0.1:9/acme/webapp.git"
    build = _build(world, repo_url=url)
    result = _run(world, build, "get_sources")
    assert result.returncode != 0
    project = _project(build)
    assert "SECRETTOKEN" not in (project / ".git" / "config").read_text()
    assert _git(project, "config", "remote.origin.url", env=world.env) == "https://127.0.0.1:9/acme/webapp.git"
    ext = (Path(build.tmp_dir) / ".gitlab-runner.ext.conf").read_text()
    assert 'insteadOf = https://127.0.0.1:9/acme/webapp.git' in ext
    assert "glcbt-SECRETTOKEN@127.0.0.1:9/acme/webapp.git" in ext
    assert "SECRETTOKEN" not in result.stdout
