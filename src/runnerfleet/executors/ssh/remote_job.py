"""One job's stage scripts over one SSH client: environment, stages, closing (SSH and VM executors)."""

from __future__ import annotations

import threading

from runnerfleet.executors.base import REMOTE_RUNNER_COMMAND, BuildContext, ExecutorEnvironment, StageResult
from runnerfleet.executors.ssh.client import SshClient
from runnerfleet.executors.ssh.stage import remote_command, remote_dirs, run_stage
from runnerfleet.trace import TraceBuffer


class RemoteJob:
    """The part every executor that runs scripts over SSH shares, whatever prepared the target.

    `hold` hands it the job's client (closed by `close`, even when preparing fails later);
    `attach` makes the environment on the logged-in target; `run` feeds one stage script to the
    login shell. Not thread-safe: one job, one stage at a time.
    """

    def __init__(self, executor: str) -> None:
        self._executor = executor
        self._client: SshClient | None = None
        self._trace: TraceBuffer | None = None
        self._command = ""

    @property
    def client(self) -> SshClient | None:
        return self._client

    def hold(self, client: SshClient) -> SshClient:
        """Make `client` the job's connection (closing any earlier one); returns it."""
        self.close()
        self._client = client
        return client

    def attach(self, ctx: BuildContext, shell: str, *, shared: bool) -> ExecutorEnvironment:
        """The environment scripts run in on the target the held client is logged in to.

        Shared targets (SSH) keep git's safe.directory as configured; disposable ones (VMs) set it
        unless `safe_directory_checkout = false`, as gitlab-runner's executor defaults do.
        """
        client = self._client
        if client is None:
            raise RuntimeError(f"{self._executor} executor: attach called without a client")
        self._trace = ctx.trace
        runner = ctx.runner
        builds_dir, cache_dir = remote_dirs(client, runner)
        self._command = remote_command(shell, ctx.user)
        safe = runner.safe_directory_checkout
        return ExecutorEnvironment(
            shell=shell,
            builds_dir=builds_dir,
            cache_dir=cache_dir,
            shared=shared,
            custom_build_dir_enabled=bool(runner.custom_build_dir.enabled),
            safe_directory_checkout=bool(safe) if shared else (True if safe is None else safe),
            runner_command=REMOTE_RUNNER_COMMAND,
        )

    def run(self, script: str, *, timeout: float | None, cancel_event: threading.Event) -> StageResult:
        if self._client is None or self._trace is None:
            raise RuntimeError(f"{self._executor} executor: run called before prepare")
        return run_stage(self._client, self._command, script, self._trace, timeout=timeout,
                         cancel_event=cancel_event)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        self._trace = None
