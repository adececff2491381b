"""The Parallels executor provider: prlctl, the DHCP lease file and the waits its executors share."""

from __future__ import annotations

import platform
from collections.abc import Mapping

from runnerfleet.executors.base import Executor
from runnerfleet.executors.parallels.executor import ParallelsExecutor, ParallelsSettings
from runnerfleet.executors.parallels.leases import DHCP_LEASES
from runnerfleet.executors.parallels.prlctl import Prlctl
from runnerfleet.executors.ssh import SshOptions
from runnerfleet.executors.vm import DEFAULT_SSH_WAIT, Slots, VmExecutorProviderBase


class ParallelsExecutorProvider(VmExecutorProviderBase):
    """Creates Parallels executors; prlctl, its environment, the lease file and the waits are injectable."""

    name = "parallels"

    def __init__(
        self,
        *,
        prlctl: str = "prlctl",
        environ: Mapping[str, str] | None = None,
        ssh_options: SshOptions | None = None,
        ssh_wait: float = DEFAULT_SSH_WAIT,
        dhcp_leases: str = DHCP_LEASES,
        apple_silicon: bool | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        # gitlab-runner decides by the architecture it was built for (GOARCH arm64: Apple silicon).
        if apple_silicon is None:
            apple_silicon = platform.machine().lower() in ("arm64", "aarch64")
        self.settings = ParallelsSettings(Prlctl(prlctl, environ), Slots(), ssh_options or SshOptions(),
                                          ssh_wait, dhcp_leases, apple_silicon, poll_interval)

    def create(self) -> Executor:
        return ParallelsExecutor(self.settings)
