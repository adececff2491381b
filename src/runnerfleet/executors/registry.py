"""Executor providers by `executor` name (`shell` and `docker` are always registered)."""

from __future__ import annotations

import threading

from runnerfleet.executors.base import ExecutorProvider
from runnerfleet.executors.docker import DockerExecutorProvider
from runnerfleet.executors.shell import ShellExecutorProvider

_lock = threading.Lock()
_providers: dict[str, ExecutorProvider] = {"shell": ShellExecutorProvider(),
                                           "docker": DockerExecutorProvider()}


def _ssh_based_providers() -> dict[str, ExecutorProvider]:
    """The SSH-based executors; they need asyncssh, without it they are unknown (runner unhealthy)."""
    try:
        from runnerfleet.executors.ssh import SshExecutorProvider
        from runnerfleet.executors.virtualbox import VirtualBoxExecutorProvider
    except ImportError:  # pragma: no cover - asyncssh is a declared dependency
        return {}
    return {"ssh": SshExecutorProvider(), "virtualbox": VirtualBoxExecutorProvider()}


_providers.update(_ssh_based_providers())


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
