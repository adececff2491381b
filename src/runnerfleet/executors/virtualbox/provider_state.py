"""What all VirtualBox executors of one provider share: VBoxManage, slots, the port lock, leftovers."""

from __future__ import annotations

import logging
import threading

from runnerfleet.config import RunnerConfig
from runnerfleet.executors.ssh import SshOptions
from runnerfleet.executors.virtualbox.ports import PortSource
from runnerfleet.executors.virtualbox.vboxmanage import ONLINE_OR_TRANSIENT, VBoxManage, VBoxManageError
from runnerfleet.executors.vm import Slots, runner_vm_pattern
from runnerfleet.trace import TraceBuffer

log = logging.getLogger("runnerfleet.executors.virtualbox")

STARTED_SNAPSHOT = "Started"


class ProviderState:
    """Shared by the executors a provider creates (one provider serves every virtualbox runner)."""

    def __init__(self, vbox: VBoxManage, *, ssh_options: SshOptions, ssh_wait: float,
                 port_source: PortSource) -> None:
        self.vbox = vbox
        self.ssh_options = ssh_options
        self.ssh_wait = ssh_wait
        self.port_source = port_source
        self.slots = Slots()
        self.port_lock = threading.Lock()
        self._cleanup_lock = threading.Lock()
        self._cleaned: set[str] = set()

    def clean_leftovers(self, runner: RunnerConfig, trace: TraceBuffer | None = None) -> None:
        """Once per runner token and process: stop and remove what a crashed runner left behind.

        Before this process ran any job of the runner, every VM named like its jobs' VMs is a
        leftover: running ones are powered off (a job was cut short in them), and those that are
        not reusable (no `Started` snapshot, or snapshots disabled) are deleted.
        """
        token = runner.short_token
        with self._cleanup_lock:
            if token in self._cleaned:
                return
            pattern = runner_vm_pattern(token)
            disposable = runner.virtualbox is not None and runner.virtualbox.disable_snapshots
            for vm in self.vbox.vms():
                if pattern.fullmatch(vm):
                    self._clean(vm, disposable, trace)
            self._cleaned.add(token)

    def _clean(self, vm: str, disposable: bool, trace: TraceBuffer | None) -> None:
        try:
            if self.vbox.status(vm) in ONLINE_OR_TRANSIENT:
                self.vbox.power_off(vm)
                action = "powered off"
            else:
                action = ""
            if disposable or "-project-" in vm or not self.vbox.has_snapshot(vm, STARTED_SNAPSHOT):
                self.vbox.delete(vm)
                action = "deleted"
        except VBoxManageError as exc:
            log.warning("could not clean up VM %s left by an earlier run: %s", vm, exc)
            return
        if action:
            log.warning("VM %s was left by an earlier run: %s", vm, action)
            if trace is not None:
                trace.warning(f"VM {vm} was left running or unfinished by an earlier run: {action}")

    def log_cleanup_failure(self, vm: str, error: Exception) -> None:
        log.warning("could not delete VM %s after its job: %s", vm, error)
