"""The layer VM executors share: base VM selection, names, slots, waiting for SSH, the job lifecycle."""

from runnerfleet.executors.vm.executor import VmExecutor
from runnerfleet.executors.vm.images import compile_allowed_images, select_base_vm
from runnerfleet.executors.vm.names import project_vm_name, runner_vm_pattern, vm_name
from runnerfleet.executors.vm.provider import VmExecutorProviderBase
from runnerfleet.executors.vm.slots import Slots
from runnerfleet.executors.vm.ssh_wait import DEFAULT_SSH_WAIT, VmNotResponding, wait_for_ssh

__all__ = [
    "DEFAULT_SSH_WAIT",
    "Slots",
    "VmExecutor",
    "VmExecutorProviderBase",
    "VmNotResponding",
    "compile_allowed_images",
    "project_vm_name",
    "runner_vm_pattern",
    "select_base_vm",
    "vm_name",
    "wait_for_ssh",
]
