"""Executor providers by `executor` name (`shell` is always registered)."""

from __future__ import annotations

import threading

from runnerfleet.executors.base import ExecutorProvider
from runnerfleet.executors.shell import ShellExecutorProvider

_lock = threading.Lock()
_providers: dict[str, ExecutorProvider] = {"shell": ShellExecutorProvider()}


def register_provider(name: str, provider: ExecutorProvider) -> None:
    """Make `provider` the one used for `executor = "<name>"` (replacing any earlier one)."""
    with _lock:
        _providers[name] = provider


def get_provider(name: str) -> ExecutorProvider | None:
    """The provider for an `executor` value, or None when runnerfleet has none (runner unhealthy)."""
    with _lock:
        return _providers.get(name)


def provider_names() -> list[str]:
    with _lock:
        return sorted(_providers)
