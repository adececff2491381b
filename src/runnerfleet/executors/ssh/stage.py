"""Running one stage script over SSH (shared by the SSH and VM executors): command line, dirs, result."""

from __future__ import annotations

import posixpath
import shlex
import threading

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import StageResult
from runnerfleet.executors.errors import BuildError, FailureReason
from runnerfleet.executors.ssh.client import SshClient, SshConnectError
from runnerfleet.executors.ssh.settings import config_error
from runnerfleet.trace import STDERR, STDOUT, STREAM_WORK, TraceBuffer

SUPPORTED_SHELLS = ("bash", "sh")
DEFAULT_BUILDS_DIR = "builds"
DEFAULT_CACHE_DIR = "cache"
PROBE_TIMEOUT = 60.0


def remote_shell(runner: RunnerConfig, executor: str) -> str:
    """The runner's shell for a remote login (bash unless `shell = "sh"`); config error otherwise."""
    shell = runner.shell or "bash"
    if shell not in SUPPORTED_SHELLS:
        raise config_error(f'runners.shell: "{shell}" is not supported by the {executor} executor, '
                           "use bash or sh")
    return shell


def remote_command(shell: str, user: str | None = None) -> str:
    """The command line sshd runs for each stage: gitlab-runner's `bash -l` (via `su` with --user)."""
    login = f"{shell} -l"
    if not user:
        return login
    return shlex.join(["su", "-s", f"/bin/{shell}", user, "-c", login])


def remote_dirs(client: SshClient, runner: RunnerConfig) -> tuple[str, str]:
    """(builds dir, cache dir) on the target; relative ones live in the login directory.

    Scripts need absolute paths, so the login directory is asked for once (`pwd` in the login
    shell sshd starts, which is where gitlab-runner's relative paths end up too).
    """
    builds = runner.builds_dir or DEFAULT_BUILDS_DIR
    cache = runner.cache_dir or DEFAULT_CACHE_DIR
    if posixpath.isabs(builds) and posixpath.isabs(cache):
        return builds, cache
    outcome, out = client.capture("pwd", timeout=PROBE_TIMEOUT)
    lines = out.strip().splitlines()
    home = lines[-1].strip() if lines else ""
    if outcome.exit_code != 0 or not posixpath.isabs(home):
        why = outcome.error or outcome.status or f"it printed {out.strip()!r}"
        raise SshConnectError(f"ssh: cannot find the login directory of {client.target.user} on "
                              f"{client.target.address} (`pwd` failed: {why})")
    return posixpath.join(home, builds), posixpath.join(home, cache)


def run_stage(
    client: SshClient,
    command: str,
    script: str,
    trace: TraceBuffer,
    *,
    timeout: float | None,
    cancel_event: threading.Event,
) -> StageResult:
    """Feed `script` to `command` on the target, its output into the job log; the stage's result.

    A non-zero exit status is a script failure carrying that code; a command whose end is unknown
    (connection lost) is a system failure, with everything it printed already in the log.
    """
    outcome = client.run(command, script.encode(), trace.stream(STREAM_WORK, STDOUT),
                         trace.stream(STREAM_WORK, STDERR), timeout=timeout, cancel_event=cancel_event)
    if outcome.error:
        error = BuildError(outcome.error, failure_reason=FailureReason.RUNNER_SYSTEM_FAILURE)
        return StageResult(None, error, outcome.timed_out, outcome.canceled)
    if outcome.exit_code == 0:
        return StageResult(0, None, outcome.timed_out, outcome.canceled)
    code = outcome.exit_code if outcome.exit_code is not None else -1
    error = BuildError(outcome.status, failure_reason=FailureReason.SCRIPT_FAILURE, exit_code=code)
    return StageResult(outcome.exit_code, error, outcome.timed_out, outcome.canceled)
