"""The shell executor: each stage script runs in a local `bash -l` (or `sh -l`), optionally via `su`."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path

from runnerfleet.executors.base import (
    BuildContext,
    DefaultExecutorProvider,
    Executor,
    ExecutorEnvironment,
    StageResult,
)
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.shell.process import FORCE_KILL_TIMEOUT, GRACEFUL_KILL_TIMEOUT, run_script
from runnerfleet.trace import STDERR, STDOUT, STREAM_WORK, TraceBuffer

SUPPORTED_SHELLS = ("bash", "sh")
DEFAULT_BUILDS_DIR = "builds"
DEFAULT_CACHE_DIR = "cache"


def shell_command(shell: str, user: str | None) -> list[str]:
    """The command a stage script is fed to (on stdin), as gitlab-runner builds it on Linux."""
    login = [shell, "-l"]
    if not user:
        return login
    # su runs the user's login shell command line; -s picks the shell even for nologin accounts.
    return ["su", "-s", f"/bin/{shell}", user, "-c", " ".join(login)]


class ShellExecutor:
    """Runs scripts on this host; the builds dir is shared between jobs (CI_SHARED_ENVIRONMENT)."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None,
        graceful_kill_timeout: float,
        force_kill_timeout: float,
    ) -> None:
        self._environ = environ
        self._graceful_kill_timeout = graceful_kill_timeout
        self._force_kill_timeout = force_kill_timeout
        self._trace: TraceBuffer | None = None
        self._argv: list[str] = []
        self._executable: str | None = None
        self._cwd: str | None = None
        self.last_pid: int | None = None

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        runner = ctx.runner
        shell = runner.shell or "bash"
        if shell not in SUPPORTED_SHELLS:
            raise BuildError(
                f'shell {shell} not found: runners.shell "{shell}" is not supported by the shell executor, '
                "use bash or sh",
                failure_reason=FailureReason.RUNNER_CONFIGURATION_ERROR,
            )
        workdir = ctx.working_directory.resolve()
        builds_dir = _absolute(runner.builds_dir or DEFAULT_BUILDS_DIR, workdir)
        cache_dir = _absolute(runner.cache_dir or DEFAULT_CACHE_DIR, workdir)
        if not ctx.user:
            Path(builds_dir).mkdir(parents=True, exist_ok=True)
        # With --user the scripts create the builds dir themselves (it must belong to that user).
        self._cwd = builds_dir if os.path.isdir(builds_dir) else str(workdir)
        self._argv = shell_command(shell, ctx.user)
        # Found once per job on the scripts' PATH (argv[0] stays as written): each stage's start
        # then skips the failed execs of a PATH search.
        environ = os.environ if self._environ is None else self._environ
        self._executable = shutil.which(self._argv[0], path=environ.get("PATH", os.defpath))
        self._trace = ctx.trace
        ctx.trace.println(f"Using Shell ({shell}) executor...")
        custom = runner.custom_build_dir.enabled
        return ExecutorEnvironment(
            shell=shell,
            builds_dir=builds_dir,
            cache_dir=cache_dir,
            shared=True,
            custom_build_dir_enabled=bool(custom) if custom is not None else False,
            safe_directory_checkout=bool(runner.safe_directory_checkout),
            # This host, this user, exactly `bash`/`sh`: bookkeeping stages need no shell. With
            # --user the files must belong to that user, so every stage stays a script.
            in_process_stages=not ctx.user,
        )

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        if self._trace is None:
            raise RuntimeError("ShellExecutor.run called before prepare")
        outcome = run_script(
            self._argv,
            script.encode(),
            executable=self._executable,
            cwd=self._cwd,
            env=dict(os.environ if self._environ is None else self._environ),
            stdout=self._trace.stream(STREAM_WORK, STDOUT),
            stderr=self._trace.stream(STREAM_WORK, STDERR),
            timeout=timeout,
            cancel_event=cancel_event,
            graceful_kill_timeout=self._graceful_kill_timeout,
            force_kill_timeout=self._force_kill_timeout,
            on_start=self._started,
        )
        if outcome.error:
            error = BuildError(outcome.error, failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE)
            return StageResult(outcome.exit_code, error, outcome.timed_out, outcome.canceled)
        if outcome.exit_code == 0:
            return StageResult(0, None, outcome.timed_out, outcome.canceled)
        code = outcome.exit_code if outcome.exit_code is not None else -1
        error = BuildError(outcome.status, failure_reason=FailureReason.SCRIPT_FAILURE, exit_code=code)
        return StageResult(outcome.exit_code, error, outcome.timed_out, outcome.canceled)

    def _started(self, pid: int) -> None:
        self.last_pid = pid

    def finish(self, error: BuildError | None) -> None:
        pass

    def cleanup(self) -> None:
        self._trace = None


def _absolute(path: str, base: Path) -> str:
    return str(Path(path) if os.path.isabs(path) else base / path)


class ShellExecutorProvider(DefaultExecutorProvider):
    """Creates shell executors; kill timeouts and the inherited environment are injectable for tests."""

    name = "shell"
    SHARED_BUILDS = True

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        graceful_kill_timeout: float = GRACEFUL_KILL_TIMEOUT,
        force_kill_timeout: float = FORCE_KILL_TIMEOUT,
    ) -> None:
        self._environ = None if environ is None else dict(environ)
        self._graceful_kill_timeout = graceful_kill_timeout
        self._force_kill_timeout = force_kill_timeout

    def create(self) -> Executor:
        return ShellExecutor(environ=self._environ, graceful_kill_timeout=self._graceful_kill_timeout,
                             force_kill_timeout=self._force_kill_timeout)
