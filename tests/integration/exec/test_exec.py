"""`runnerfleet exec` run as users run it: in a git checkout, through the real runner code path."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

PIPELINE = """
stages: [build, test, deploy]
build:
  stage: build
  script: [mkdir -p out, "echo built-$GREETING > out/a.txt", cat marker.txt]
  artifacts: {paths: [out/]}
unit:
  stage: test
  script: [cat out/a.txt]
flaky:
  stage: test
  allow_failure: true
  script: [exit 4]
deploy:
  stage: deploy
  script: [echo deploying]
"""


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    root.mkdir()
    (root / ".gitlab-ci.yml").write_text(PIPELINE)
    (root / "marker.txt").write_text("committed\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "init")
    return root


def runnerfleet_exec(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["HOME"] = str(cwd.parent)
    return subprocess.run([sys.executable, "-m", "runnerfleet", "exec", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=600)


def _summary(stdout: str) -> dict[str, tuple[str, str]]:
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("JOB "))
    rows = {}
    for line in lines[start + 1:]:
        cells = line.split()
        rows[cells[0]] = (cells[1], " ".join(cells[2:-1]))
    return rows


def test_exec_runs_every_stage_prefixes_logs_and_prints_a_summary(project: Path) -> None:
    done = runnerfleet_exec(project, "--variable", "GREETING=hello")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unit   | built-hello" in done.stdout
    assert "build  | committed" in done.stdout
    assert "deploy | deploying" in done.stdout
    assert _summary(done.stdout) == {
        "build": ("build", "success"), "unit": ("test", "success"),
        "flaky": ("test", "failed (allowed to fail)"), "deploy": ("deploy", "success")}


def test_exec_exits_non_zero_when_a_job_that_may_not_fail_fails(project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text(PIPELINE.replace("script: [cat out/a.txt]",
                                                             "script: [exit 7]"))
    _git(project, "commit", "-q", "-am", "break unit")
    done = runnerfleet_exec(project)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = _summary(done.stdout)
    assert rows["unit"] == ("test", "failed") and rows["deploy"] == ("deploy", "skipped")


def test_exec_runs_named_jobs_with_their_needs_only(project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text(PIPELINE + """
report:
  stage: deploy
  needs: [build]
  script: [cat out/a.txt]
""")
    _git(project, "commit", "-q", "-am", "report")
    done = runnerfleet_exec(project, "report")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(_summary(done.stdout)) == {"build", "report"}
    assert "report | built-" in done.stdout


def test_exec_runs_head_by_default_and_the_working_tree_with_uncommitted(
        project: Path) -> None:
    (project / "marker.txt").write_text("edited\n")
    committed = runnerfleet_exec(project, "build")
    assert "build | committed" in committed.stdout, committed.stdout + committed.stderr
    edited = runnerfleet_exec(project, "build", "--uncommitted")
    assert "build | edited" in edited.stdout, edited.stdout + edited.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True,
                            text=True, check=True).stdout
    assert status.strip() == "M marker.txt"  # the user's index and tree are untouched


def test_exec_list_prints_the_jobs_without_running_them(project: Path) -> None:
    done = runnerfleet_exec(project, "--list")
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert names == ["build", "unit", "flaky", "deploy"]
    assert "Job succeeded" not in done.stdout


def test_exec_reports_malformed_yaml_as_a_lint_error_line(project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text("build:\n  script: [echo\n  stage: [\n")
    _git(project, "commit", "-q", "-am", "broken")
    done = runnerfleet_exec(project)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{project / '.gitlab-ci.yml'}: (<unknown>): " in done.stderr, done.stderr


def test_exec_outside_a_git_repository_says_what_to_do(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    done = runnerfleet_exec(plain)
    assert done.returncode == 1
    assert "is not inside a git repository" in done.stderr and "Traceback" not in done.stderr


def _local_image(name: str) -> bool:
    try:
        return subprocess.run(["docker", "image", "inspect", name], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


DOCKER_IMAGE = "runnerfleet/debian:bookworm"


@pytest.mark.skipif(not _local_image(DOCKER_IMAGE),
                    reason=f"needs dockerd and {DOCKER_IMAGE} (tests/integration/docker builds it)")
def test_exec_with_the_docker_executor_runs_jobs_in_containers(project: Path) -> None:
    before = _runnerfleet_containers()
    done = runnerfleet_exec(project, "--executor", "docker", "--docker-image", DOCKER_IMAGE,
                            "--variable", "GREETING=docker")
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'Using Docker executor with image runnerfleet/debian:bookworm' in done.stdout
    assert "unit   | built-docker" in done.stdout
    assert _summary(done.stdout)["deploy"] == ("deploy", "success")
    # Every job's containers are gone when exec returns, the last job's too (its removal
    # runs after its final status, and exec's exit waits for it).
    assert _runnerfleet_containers() - before == set()


def _runnerfleet_containers() -> set[str]:
    listed = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter",
                             "label=com.runnerfleet.managed=true"], capture_output=True, text=True,
                            timeout=60, check=True)
    return set(listed.stdout.split())


DELAYED = """
build:
  stage: build
  script: ["echo BUILT $(date +%s.%N)"]
later:
  stage: deploy
  when: delayed
  start_in: {start_in}
  script: ["echo LATER $(date +%s.%N)"]
"""


def _stamp(stdout: str, word: str) -> float:
    line = next(x for x in stdout.splitlines() if f"| {word} " in x)
    return float(line.rsplit(" ", 1)[-1])


def test_exec_waits_start_in_before_a_delayed_job_and_says_when_it_starts(
        project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text(DELAYED.format(start_in="2 seconds"))
    _git(project, "commit", "-q", "-am", "delayed")
    done = runnerfleet_exec(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "later | delayed (start_in: 2 seconds): starts at " in done.stdout
    assert _stamp(done.stdout, "LATER") >= _stamp(done.stdout, "BUILT") + 2
    assert _summary(done.stdout)["later"] == ("deploy", "success")


def test_exec_skip_delays_starts_delayed_jobs_at_once(project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text(DELAYED.format(start_in="1 week"))
    _git(project, "commit", "-q", "-am", "delayed a week")
    done = runnerfleet_exec(project, "--skip-delays")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "starts at" not in done.stdout
    assert _summary(done.stdout) == {"build": ("build", "success"),
                                     "later": ("deploy", "success")}


def test_exec_runs_from_a_linked_worktree(project: Path) -> None:
    linked = project.parent / "linked"
    _git(project, "worktree", "add", "-q", "-b", "topic", str(linked))
    done = runnerfleet_exec(linked, "build")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "build | committed" in done.stdout


SOURCES = """
where:
  stage: build
  script:
    - echo "origin=$(git config remote.origin.url)"
    - echo "repository=${CI_REPOSITORY_URL%%:*}"
    - echo "dir=$CI_PROJECT_DIR"
    - cat marker.txt
"""


def test_exec_shell_jobs_fetch_sources_from_the_local_repository_over_file_urls(
        project: Path) -> None:
    (project / ".gitlab-ci.yml").write_text(SOURCES)
    _git(project, "commit", "-q", "-am", "where")
    done = runnerfleet_exec(project)
    assert done.returncode == 0, done.stdout + done.stderr
    origin = next(x for x in done.stdout.splitlines() if "| origin=" in x).split("=", 1)[1]
    # git's local transport: no HTTP, no token in the remote the job sees.
    assert origin.startswith("file:///") and origin.endswith("/local/demo.git"), origin
    assert "where | Getting source from Git repository" in done.stdout
    assert "where | committed" in done.stdout
    # What GitLab sends is unchanged: the HTTP clone URL, and the project dir named after it.
    assert "where | repository=http" in done.stdout
    project_dir = next(x for x in done.stdout.splitlines() if "| dir=" in x).split("=", 1)[1]
    assert project_dir.endswith("/local/demo"), project_dir


def test_exec_leaves_no_state_directory_behind(project: Path) -> None:
    done = runnerfleet_exec(project, "build")
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if "Initialized empty Git repository in" in x)
    state = Path(line.split(" in ", 1)[1].split("/work/builds/", 1)[0])
    assert state.name.startswith("runnerfleet-exec-"), line
    # Removed by a process exec leaves running when it ends: wait for it, not for a time.
    for _ in range(300):
        if not state.exists():
            break
        time.sleep(0.1)
    assert not state.exists()
