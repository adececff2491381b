"""Helpers for pipeline tests: a bare repository served by file:// URL, payloads, and a job runner."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runnerfleet.build import Build, JobResult
from runnerfleet.config import RunnerConfig
from runnerfleet.executors.shell import ShellExecutorProvider
from runnerfleet.trace import TraceBuffer

RUNNER_TOKEN = "glrt-t1_abcdefghijklmnop"
SHORT_TOKEN = "abcdefghi"
JOB_TOKEN = "glcbt-64_jobtokenvalue1234"
# Section markers carry this time, so the expected log text is exact.
FIXED_NS = 1_700_000_000 * 1_000_000_000
ALL_REASONS = ["unknown_failure", "script_failure", "runner_system_failure", "job_execution_timeout",
               "runner_configuration_error", "runner_external_dependency_failure", "runner_interrupted"]


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@dataclass
class World:
    """A bare repository `acme/webapp.git` served by file:// URL, and the env jobs run with."""

    root: Path
    env: dict[str, str]
    bare: Path
    sha: str
    workdir: Path

    @property
    def repo_url(self) -> str:
        return f"file://{self.bare}"

    def provider(self, **kwargs: Any) -> ShellExecutorProvider:
        kwargs.setdefault("graceful_kill_timeout", 5.0)
        kwargs.setdefault("force_kill_timeout", 5.0)
        return ShellExecutorProvider(environ=self.env, **kwargs)


def make_world(tmp_path: Path) -> World:
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "GIT_CONFIG_NOSYSTEM": "1"}
    (home / ".gitconfig").write_text("[user]\n\tname = CI\n\temail = ci@example.com\n")
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main", env=env)
    (src / "README").write_text("hello from the repo\n")
    _git(src, "add", ".", env=env)
    _git(src, "commit", "-q", "-m", "first", env=env)
    sha = _git(src, "rev-parse", "HEAD", env=env)
    bare = tmp_path / "acme" / "webapp.git"
    _git(tmp_path, "clone", "-q", "--bare", str(src), str(bare), env=env)
    workdir = tmp_path / "runner"
    workdir.mkdir()
    return World(tmp_path, env, bare, sha, workdir)


def payload(
    world: World,
    script: list[str],
    *,
    after_script: list[str] | None = None,
    variables: list[dict[str, Any]] | None = None,
    timeout: int = 120,
    trace_sections: bool = True,
    failure_reasons: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `/jobs/request` body for the world's repository."""
    steps: list[dict[str, Any]] = [{"name": "script", "script": script, "timeout": timeout,
                                    "when": "on_success", "allow_failure": False}]
    if after_script is not None:
        steps.append({"name": "after_script", "script": after_script, "timeout": timeout,
                      "when": "always", "allow_failure": False})
    body: dict[str, Any] = {
        "id": 4242,
        "token": JOB_TOKEN,
        "allow_git_fetch": True,
        "job_info": {"id": 4242, "name": "test", "stage": "test", "project_id": 7,
                     "project_name": "webapp"},
        "git_info": {"repo_url": world.repo_url, "ref": "main", "sha": world.sha, "before_sha": "",
                     "ref_type": "branch",
                     "refspecs": ["+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"],
                     "depth": 0},
        "runner_info": {"timeout": timeout},
        "variables": [{"key": "CI_JOB_TOKEN", "value": JOB_TOKEN, "public": False, "masked": True},
                      *(variables or [])],
        "steps": steps,
        "features": {"trace_sections": trace_sections,
                     "failure_reasons": ALL_REASONS if failure_reasons is None else failure_reasons},
    }
    body.update(extra)
    return body


def runner_config(**kwargs: Any) -> RunnerConfig:
    kwargs.setdefault("name", "test-runner")
    kwargs.setdefault("token", RUNNER_TOKEN)
    kwargs.setdefault("executor", "shell")
    return RunnerConfig(**kwargs)


@dataclass
class JobRun:
    """A job started in a background thread; `wait()` gives its result and log text."""

    build: Build
    trace: TraceBuffer
    thread: threading.Thread
    outcome: list[JobResult] = field(default_factory=list)

    def wait(self, limit: float = 120.0) -> JobResult:
        self.thread.join(limit)
        if self.thread.is_alive():
            raise AssertionError(f"the job did not end within {limit} s")
        return self.outcome[0]

    @property
    def log(self) -> str:
        return self.trace.bytes_since(0).decode()


def start_job(
    world: World,
    body: dict[str, Any],
    *,
    runner: RunnerConfig | None = None,
    concurrent_id: int = 0,
    concurrent_project_id: int = 0,
    **build_kwargs: Any,
) -> JobRun:
    trace = TraceBuffer(timestamps=False, clock=lambda: FIXED_NS)
    build_kwargs.setdefault("provider", world.provider())
    build = Build(body, runner or runner_config(), trace, system_id="s_0123456789ab",
                  concurrent_id=concurrent_id, concurrent_project_id=concurrent_project_id,
                  working_directory=world.workdir, **build_kwargs)
    run = JobRun(build, trace, threading.Thread(target=lambda: None))
    run.thread = threading.Thread(target=lambda: run.outcome.append(build.run()), daemon=True)
    run.thread.start()
    return run


def run_job(world: World, body: dict[str, Any], **kwargs: Any) -> tuple[JobResult, str]:
    run = start_job(world, body, **kwargs)
    result = run.wait()
    return result, run.log


def wait_for_file(path: Path, limit: float = 60.0) -> str:
    """The file's content once a job has written it (the job signals progress this way)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written within {limit} s")


def live_group_members(pgid: int, settle: float = 5.0) -> list[int]:
    """PIDs of processes in process group `pgid` that are still running (zombies excluded).

    A killed process closes its pipes (which ends the stage) a moment before the kernel marks
    it a zombie; under load that moment is visible. Members are looked for again for up to
    `settle` seconds: only a process that is still alive then counts.
    """
    deadline = time.monotonic() + settle
    while True:
        members = _group_members(pgid)
        if not members or time.monotonic() >= deadline:
            return members
        time.sleep(0.05)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def project_dir(world: World, concurrent_project_id: int = 0) -> Path:
    """CI_PROJECT_DIR of a job: the file:// URL's path (minus .git) under the shared builds dir."""
    repo_path = str(world.bare).removesuffix(".git")
    return Path(f"{world.workdir}/builds/{SHORT_TOKEN}/{concurrent_project_id}{repo_path}")
