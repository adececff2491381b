"""Executor providers by `executor` name, each imported the first time a runner uses it.

Importing every executor up front would load the docker SDK and asyncssh (tens of MB) into a
runner that only ever runs shell jobs; the registry therefore names where each provider lives.
"""

from __future__ import annotations

import importlib
import threading

from runnerfleet.executors.base import ExecutorProvider

# executor name → "module:ProviderClass"
_BUILTIN = {
    "shell": "runnerfleet.executors.shell:ShellExecutorProvider",
    "docker": "runnerfleet.executors.docker:DockerExecutorProvider",
    "ssh": "runnerfleet.executors.ssh:SshExecutorProvider",
    "virtualbox": "runnerfleet.executors.virtualbox:VirtualBoxExecutorProvider",
    "parallels": "runnerfleet.executors.parallels:ParallelsExecutorProvider",
}

_lock = threading.Lock()
_providers: dict[str, ExecutorProvider] = {}


def register_provider(name: str, provider: ExecutorProvider) -> None:
    """Make `provider` the one used for `executor = "<name>"` (replacing any earlier one)."""
    with _lock:
        _providers[name] = provider


def get_provider(name: str) -> ExecutorProvider | None:
    """The provider for an `executor` value, or None when runnerfleet has none (runner unhealthy)."""
    with _lock:
        provider = _providers.get(name)
        if provider is None and name in _BUILTIN:
            module_name, _, class_name = _BUILTIN[name].partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError:  # a missing optional dependency makes the executor unknown
                return None
            provider = getattr(module, class_name)()
            _providers[name] = provider
        return provider


def provider_names() -> list[str]:
    with _lock:
        return sorted(set(_providers) | set(_BUILTIN))
