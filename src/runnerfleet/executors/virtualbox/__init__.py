"""The VirtualBox executor: throw-away clones of a base VM, driven through VBoxManage, jobs over SSH."""

from runnerfleet.executors.virtualbox.executor import VirtualBoxExecutor
from runnerfleet.executors.virtualbox.provider import VirtualBoxExecutorProvider
from runnerfleet.executors.virtualbox.vboxmanage import VBoxManage, VBoxManageError

__all__ = ["VBoxManage", "VBoxManageError", "VirtualBoxExecutor", "VirtualBoxExecutorProvider"]
