"""The VirtualBox executor provider: settings shared by its executors, leftover cleanup at start."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.base import Executor
from runnerfleet.executors.ssh import SshOptions
from runnerfleet.executors.virtualbox.executor import VirtualBoxExecutor
from runnerfleet.executors.virtualbox.ports import PortSource, free_loopback_port
from runnerfleet.executors.virtualbox.provider_state import ProviderState
from runnerfleet.executors.virtualbox.vboxmanage import VBoxManage
from runnerfleet.executors.vm import DEFAULT_SSH_WAIT, VmExecutorProviderBase

log = logging.getLogger("runnerfleet.executors.virtualbox")


class VirtualBoxExecutorProvider(VmExecutorProviderBase):
    """Creates VirtualBox executors; VBoxManage's path and environment and the waits are injectable."""

    name = "virtualbox"

    def __init__(
        self,
        *,
        vboxmanage: str = "VBoxManage",
        environ: Mapping[str, str] | None = None,
        ssh_options: SshOptions | None = None,
        ssh_wait: float = DEFAULT_SSH_WAIT,
        port_source: PortSource = free_loopback_port,
    ) -> None:
        self.state = ProviderState(VBoxManage(vboxmanage, environ), ssh_options=ssh_options or SshOptions(),
                                   ssh_wait=ssh_wait, port_source=port_source)

    def create(self) -> Executor:
        return VirtualBoxExecutor(self.state)

    def acquire(self, runner: RunnerConfig) -> object | None:
        # The first request of a runner is the provider's start for it: clean up after a crash.
        try:
            self.state.clean_leftovers(runner)
        except Exception as exc:  # never block job requests; the next acquire tries again
            log.warning("runner %s: cleaning up VMs left by an earlier run failed: %s",
                        runner.short_token, exc)
        return None
