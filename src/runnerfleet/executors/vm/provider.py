"""What the providers of VM executors share: disposable environments, bash, no capacity bookkeeping."""

from __future__ import annotations

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import ExecutorFeatures


class VmExecutorProviderBase:
    """gitlab-runner's DefaultExecutorProvider for VM executors (features: variables only)."""

    name = "vm"

    @property
    def shared(self) -> bool:
        return False

    def can_create(self) -> bool:
        return True

    def acquire(self, runner: RunnerConfig) -> object | None:
        return None

    def release(self, runner: RunnerConfig, data: object | None) -> None:
        pass

    def features(self) -> ExecutorFeatures:
        return ExecutorFeatures(variables=True, shared=False, session=False, terminal=False)

    def default_shell(self) -> str:
        return "bash"
