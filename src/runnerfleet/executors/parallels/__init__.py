"""The Parallels executor: VMs from a template of a base VM, driven through prlctl, jobs over SSH."""

from runnerfleet.executors.parallels.executor import ParallelsExecutor
from runnerfleet.executors.parallels.prlctl import Prlctl, PrlctlError
from runnerfleet.executors.parallels.provider import ParallelsExecutorProvider

__all__ = ["ParallelsExecutor", "ParallelsExecutorProvider", "Prlctl", "PrlctlError"]
