"""The SSH executor: every stage script runs in `bash -l` on a remote host, over one SSH connection."""

from __future__ import annotations

import threading

from runnerfleet.executors.base import (
    BuildContext,
    DefaultExecutorProvider,
    Executor,
    ExecutorEnvironment,
    StageResult,
)
from runnerfleet.executors.errors import BuildError
from runnerfleet.executors.ssh.client import SshClient, SshOptions
from runnerfleet.executors.ssh.remote_job import RemoteJob
from runnerfleet.executors.ssh.settings import ssh_target
from runnerfleet.executors.ssh.stage import remote_shell


class SshExecutor:
    """Runs scripts on `[runners.ssh]`'s host; the builds dir there is shared between jobs."""

    def __init__(self, options: SshOptions) -> None:
        self._options = options
        self._remote = RemoteJob("ssh")

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        ctx.trace.println("Using SSH executor...")
        shell = remote_shell(ctx.runner, "ssh")
        client = self._remote.hold(SshClient(ssh_target(ctx.runner.ssh), self._options))
        client.connect()
        return self._remote.attach(ctx, shell, shared=True)

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        return self._remote.run(script, timeout=timeout, cancel_event=cancel_event)

    def finish(self, error: BuildError | None) -> None:
        pass

    def cleanup(self) -> None:
        self._remote.close()


class SshExecutorProvider(DefaultExecutorProvider):
    """Creates SSH executors; connection timings are injectable (tests shorten them)."""

    name = "ssh"
    SHARED_BUILDS = True

    def __init__(self, options: SshOptions | None = None) -> None:
        self.options = options or SshOptions()

    def create(self) -> Executor:
        return SshExecutor(self.options)
