"""Shell jobs without a shell for bookkeeping stages: same log, same files, fewer processes.

Each job runs twice: with the shell executor as it is (get_sources for GIT_STRATEGY none/empty
and cleanup_file_variables inside the runner) and with every stage forced to be a script (what
`run --user` does). The logs must be byte-identical. A `bash` wrapper first on PATH counts the
shells each job started.
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from runnerfleet.build import JobResult
from runnerfleet.executors import BuildContext, Executor, ExecutorEnvironment
from runnerfleet.executors.shell import ShellExecutorProvider
from runnerfleet.trace import TraceBuffer
from tests.integration.build.helpers import World, payload, project_dir, run_job, runner_config

pytestmark = pytest.mark.integration

GREEN, YELLOW, RESET = "\x1b[32;1m", "\x1b[0;33m", "\x1b[0;m"
NO_GIT = {"key": "GIT_STRATEGY", "value": "none"}


class ScriptsOnlyProvider(ShellExecutorProvider):
    """The shell executor with every stage run as a script (as with `run --user`)."""

    def create(self) -> Executor:
        executor = super().create()

        class ScriptsOnly:
            def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
                return replace(executor.prepare(ctx), in_process_stages=False)

            run = executor.run
            finish = executor.finish
            cleanup = executor.cleanup

        return ScriptsOnly()  # type: ignore[return-value]


@pytest.fixture
def counted(world: World) -> Path:
    """Puts a `bash` first on the jobs' PATH that logs each start, then runs the real bash."""
    real = shutil.which("bash")
    assert real is not None
    wrappers = world.root / "wrappers"
    wrappers.mkdir()
    starts = world.root / "bash-starts"
    wrapper = wrappers / "bash"
    wrapper.write_text(f'#!{real}\necho "$*" >> {starts}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    world.env["PATH"] = f"{wrappers}:{world.env['PATH']}"
    return starts


def _shells(starts: Path) -> int:
    count = len(starts.read_text().splitlines()) if starts.exists() else 0
    starts.unlink(missing_ok=True)
    return count


def _both(world: World, starts: Path, body: dict[str, Any],
          before: Any = None) -> tuple[tuple[JobResult, str, int], tuple[JobResult, str, int]]:
    """(result, log, shells started) in-process first, then with scripts only."""
    runs = []
    for provider in (world.provider(), ScriptsOnlyProvider(environ=world.env, graceful_kill_timeout=5.0,
                                                           force_kill_timeout=5.0)):
        if before is not None:
            before()
        result, log = run_job(world, body, provider=provider)
        runs.append((result, log, _shells(starts)))
    return runs[0], runs[1]


def test_a_trivial_job_starts_shells_only_for_prepare_and_its_script(world: World, counted: Path) -> None:
    (result, log, shells), (scripted, scripted_log, scripted_shells) = _both(
        world, counted, payload(world, ["echo hello"], variables=[NO_GIT]))
    assert (result.state, scripted.state) == ("success", "success")
    assert log == scripted_log
    assert f"Running on {socket.gethostname()}...\n" in log
    assert f"{GREEN}Skipping Git repository setup{RESET}\n" in log
    # prepare_script keeps its login shell: it is what proves the shell profile works.
    assert (shells, scripted_shells) == (2, 4)
    assert project_dir(world).is_dir()


def test_file_variables_and_gitlab_env_work_without_a_shell_for_get_sources(
        world: World, counted: Path) -> None:
    script = ['stat -c %a "$KEY_FILE"', 'printf "[%s]\\n" "$(cat "$KEY_FILE")"',
              'echo "FROM_STEP=passed on" >> "$GITLAB_ENV"']
    body = payload(world, script, after_script=['echo "after: $FROM_STEP"'], variables=[
        NO_GIT, {"key": "KEY_FILE", "value": "line1\nline2 'q'", "file": True}])
    (result, log, shells), (scripted, scripted_log, _) = _both(world, counted, body)
    assert (result.state, scripted.state) == ("success", "success")
    assert log == scripted_log
    assert "\n600\n" in log and "\n[line1\nline2 'q']\n" in log and "\nafter: passed on\n" in log
    assert shells == 3  # prepare_script, step_script, after_script
    tmp = Path(f"{project_dir(world)}.tmp")
    assert not (tmp / "KEY_FILE").exists() and not (tmp / "gitlab_runner_env").exists()


def test_the_empty_strategy_empties_read_only_content_too(world: World, counted: Path) -> None:
    project = Path(f"{project_dir(world)}-empty")

    def fill() -> None:
        (project / "ro").mkdir(parents=True, exist_ok=True)
        (project / "ro" / "kept.txt").write_text("old\n")
        (project / "ro").chmod(0o500)
        (project / "ro" / "kept.txt").chmod(0o400)

    body = payload(world, ["ls -A"], variables=[{"key": "GIT_STRATEGY", "value": "empty"}])
    (result, log, shells), (scripted, scripted_log, _) = _both(world, counted, body, before=fill)
    assert (result.state, scripted.state) == ("success", "success")
    assert log == scripted_log
    assert f"{GREEN}Skipping Git repository setup and creating an empty build directory{RESET}\n" in log
    assert f"{GREEN}$ ls -A{RESET}\nsection_end:" in log  # nothing listed
    assert shells == 2 and list(project.iterdir()) == []


def test_a_file_in_the_way_fails_the_job_with_the_shells_own_error(world: World, counted: Path) -> None:
    tmp = Path(f"{project_dir(world)}.tmp")

    def block() -> None:
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("not a directory\n")

    body = payload(world, ["echo never"], variables=[NO_GIT])
    (result, log, shells), (scripted, scripted_log, scripted_shells) = _both(world, counted, body,
                                                                            before=block)
    assert (result.state, result.failure_reason, result.exit_code) == ("failed", "script_failure", 1)
    assert (scripted.state, scripted.failure_reason) == ("failed", "script_failure")
    assert log == scripted_log
    assert "mkdir: cannot create directory" in log and "never" not in log
    assert shells == scripted_shells  # every stage that met the file ran its script


def test_a_variable_bash_refuses_to_export_fails_get_sources_as_before(world: World, counted: Path) -> None:
    body = payload(world, ["echo never"], variables=[NO_GIT, {"key": "UID", "value": "12345"}])
    (result, log, _), (scripted, scripted_log, _) = _both(world, counted, body)
    assert (result.state, result.failure_reason) == ("failed", "script_failure")
    assert scripted.state == "failed"
    assert log == scripted_log
    assert "readonly variable" in log and "Getting source from Git repository" in log


def test_ci_debug_trace_keeps_every_stage_a_script(world: World, counted: Path) -> None:
    body = payload(world, ["echo hello"], variables=[NO_GIT, {"key": "CI_DEBUG_TRACE", "value": "true"}])
    result, log = run_job(world, body)
    assert result.state == "success"
    assert _shells(counted) == 4
    sources = log[log.index("Getting source from Git repository"):log.index("step_script")]
    assert "+ export GIT_STRATEGY=none" in sources  # xtrace comes from the shell


def test_an_invalid_git_strategy_is_warned_once(world: World) -> None:
    body = payload(world, ["echo hello"], variables=[{"key": "GIT_STRATEGY", "value": "copy"}])
    result, log = run_job(world, body)
    assert result.state == "success"
    assert log.count("GIT_STRATEGY") == 1
    assert (f"{YELLOW}WARNING: GIT_STRATEGY: expected either 'clone', 'fetch', 'none' or 'empty' "
            f"got \"copy\", using default value 'fetch'{RESET}") in log


def test_a_run_user_job_keeps_every_stage_a_script(world: World) -> None:
    executor = world.provider().create()
    ctx = BuildContext(runner=runner_config(), trace=TraceBuffer(), job_id=1,
                       working_directory=world.workdir, user="nobody")
    try:
        assert executor.prepare(ctx).in_process_stages is False
        assert executor.prepare(replace(ctx, user=None)).in_process_stages is True
    finally:
        executor.cleanup()
