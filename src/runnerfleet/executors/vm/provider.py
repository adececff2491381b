"""What the providers of VM executors share: disposable environments, bash, no capacity bookkeeping."""

from __future__ import annotations

from runnerfleet.executors.base import DefaultExecutorProvider


class VmExecutorProviderBase(DefaultExecutorProvider):
    """gitlab-runner's DefaultExecutorProvider for VM executors (features: variables only)."""

    name = "vm"
