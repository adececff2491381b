"""The SSH executor: every stage script runs in `bash -l` on a remote host, over one SSH connection."""

from __future__ import annotations

import threading

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import (
    REMOTE_RUNNER_COMMAND,
    BuildContext,
    Executor,
    ExecutorEnvironment,
    ExecutorFeatures,
    StageResult,
)
from runnerfleet.executors.errors import BuildError
from runnerfleet.executors.ssh.client import SshClient, SshOptions
from runnerfleet.executors.ssh.settings import ssh_target
from runnerfleet.executors.ssh.stage import remote_command, remote_dirs, remote_shell, run_stage
from runnerfleet.trace import TraceBuffer


class SshExecutor:
    """Runs scripts on `[runners.ssh]`'s host; the builds dir there is shared between jobs."""

    def __init__(self, options: SshOptions) -> None:
        self._options = options
        self._client: SshClient | None = None
        self._trace: TraceBuffer | None = None
        self._command = ""

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        runner = ctx.runner
        ctx.trace.println("Using SSH executor...")
        shell = remote_shell(runner, "ssh")
        target = ssh_target(runner.ssh)
        self._client = SshClient(target, self._options)
        self._client.connect()
        builds_dir, cache_dir = remote_dirs(self._client, runner)
        self._command = remote_command(shell, ctx.user)
        self._trace = ctx.trace
        custom = runner.custom_build_dir.enabled
        return ExecutorEnvironment(
            shell=shell,
            builds_dir=builds_dir,
            cache_dir=cache_dir,
            shared=True,
            custom_build_dir_enabled=bool(custom),
            safe_directory_checkout=bool(runner.safe_directory_checkout),
            runner_command=REMOTE_RUNNER_COMMAND,
        )

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        if self._client is None or self._trace is None:
            raise RuntimeError("SshExecutor.run called before prepare")
        return run_stage(self._client, self._command, script, self._trace, timeout=timeout,
                         cancel_event=cancel_event)

    def finish(self, error: BuildError | None) -> None:
        pass

    def cleanup(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._trace = None


class SshExecutorProvider:
    """Creates SSH executors; connection timings are injectable (tests shorten them)."""

    name = "ssh"

    def __init__(self, options: SshOptions | None = None) -> None:
        self.options = options or SshOptions()

    @property
    def shared(self) -> bool:
        return True

    def can_create(self) -> bool:
        return True

    def create(self) -> Executor:
        return SshExecutor(self.options)

    def acquire(self, runner: RunnerConfig) -> object | None:
        return None

    def release(self, runner: RunnerConfig, data: object | None) -> None:
        pass

    def features(self) -> ExecutorFeatures:
        return ExecutorFeatures(variables=True, shared=True, session=False, terminal=False)

    def default_shell(self) -> str:
        return "bash"
