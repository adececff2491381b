"""What every VM executor does around its hypervisor calls: slot, SSH stages, power off and delete at the end.

gitlab-runner's `executors/vm` plus the shared halves of its VirtualBox and Parallels executors:
a subclass provisions the VM (clone or restore, start, wait for SSH) and hands the logged-in
client to `remote`; stages run over it; cleanup closes it, then the subclass stops the VM and
deletes it when snapshots are disabled or the VM never became usable.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from runnerfleet.executors.base import BuildContext, ExecutorEnvironment, StageResult
from runnerfleet.executors.errors import BuildError
from runnerfleet.executors.ssh.remote_job import RemoteJob
from runnerfleet.executors.ssh.stage import remote_shell
from runnerfleet.executors.vm.slots import Slots
from runnerfleet.trace import TraceBuffer


class VmExecutor(ABC):
    """One job's VM: provisioned by the subclass, used for the job's stages over SSH, then released."""

    executor_name = "vm"

    def __init__(self, slots: Slots) -> None:
        self._slots = slots
        self._slot: tuple[str, int] | None = None
        self.remote = RemoteJob(self.executor_name)
        self.trace: TraceBuffer | None = None
        # The VM this job uses (set as soon as it has a name, so cleanup finds what prepare made).
        self.vm = ""
        # Delete the VM after the job (snapshots disabled); a VM never provisioned is always deleted.
        self.disposable = False
        self.provisioned = False

    def take_slot(self, token: str) -> int:
        """The job's concurrency slot among the runner's jobs in this process (released by cleanup)."""
        if self._slot is not None:
            self._slots.give(*self._slot)
        slot = self._slots.take(token)
        self._slot = (token, slot)
        return slot

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        shell = remote_shell(ctx.runner, self.executor_name)
        self.trace = ctx.trace
        self.provision(ctx)
        if self.remote.client is None:
            raise RuntimeError(f"{self.executor_name} executor: provision left no SSH client")
        self.provisioned = True
        return self.remote.attach(ctx, shell, shared=False)

    @abstractmethod
    def provision(self, ctx: BuildContext) -> None:
        """Make the job's VM run and answer SSH; `remote.hold` the logged-in client."""

    @abstractmethod
    def release_vm(self, vm: str, *, delete: bool) -> None:
        """Stop `vm` and, when `delete`, remove it; failures are logged, never raised."""

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        return self.remote.run(script, timeout=timeout, cancel_event=cancel_event)

    def finish(self, error: BuildError | None) -> None:  # noqa: B027 - nothing to do by default
        """VM executors act at cleanup, not when the job's result is known."""

    def cleanup(self) -> None:
        self.remote.close()
        if self.vm:
            vm, self.vm = self.vm, ""
            self.release_vm(vm, delete=self.disposable or not self.provisioned)
        if self._slot is not None:
            self._slots.give(*self._slot)
            self._slot = None
        self.trace = None
