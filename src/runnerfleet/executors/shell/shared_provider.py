"""What the providers of shared-builds-dir executors (shell, ssh) answer alike: no capacity, bash.

gitlab-runner's DefaultExecutorProvider with `shared` features: jobs share one builds dir
(CI_SHARED_ENVIRONMENT), there is nothing to acquire per job, and the default shell is bash.
Subclasses set `name` and implement `create`.
"""

from __future__ import annotations

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import ExecutorFeatures


class SharedExecutorProviderBase:
    """The provider answers of a shared executor; `create` is the subclass's."""

    @property
    def shared(self) -> bool:
        return True

    def can_create(self) -> bool:
        return True

    def acquire(self, runner: RunnerConfig) -> object | None:
        return None

    def release(self, runner: RunnerConfig, data: object | None) -> None:
        pass

    def features(self) -> ExecutorFeatures:
        return ExecutorFeatures(variables=True, shared=True, session=False, terminal=False)

    def default_shell(self) -> str:
        return "bash"
