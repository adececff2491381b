"""The VirtualBox executor: a clone of a base VM per concurrent slot, jobs run in it over SSH.

gitlab-runner's `executors/virtualbox`: the VM `<base>-runner-<short token>-concurrent-<id>` is
cloned (linked to a snapshot of the base, or fully), gets a `guestssh` NAT rule, starts headless
and is waited for until SSH answers; with snapshots it then gets a `Started` snapshot and is kept
(powered off) for the next job of that slot, which restores it; with `disable_snapshots` it is
deleted after every job. A VM that never finished its preparation is always deleted.
"""

from __future__ import annotations

from runnerfleet.config import RunnerConfig, SshConfig, VirtualBoxConfig
from runnerfleet.executors.base import BuildContext
from runnerfleet.executors.ssh import parse_port, ssh_target
from runnerfleet.executors.ssh.settings import config_error
from runnerfleet.executors.virtualbox.ports import ensure_ssh_forward
from runnerfleet.executors.virtualbox.provider_state import STARTED_SNAPSHOT, ProviderState
from runnerfleet.executors.virtualbox.vboxmanage import ONLINE_OR_TRANSIENT, VBoxManageError
from runnerfleet.executors.vm import compile_allowed_images, select_base_vm, vm_name, wait_for_ssh
from runnerfleet.executors.vm.executor import VmExecutor

START_TYPES = ("headless", "gui", "separate", "sdl")
BASE_SNAPSHOT = "Base State"


def validate(runner: RunnerConfig) -> VirtualBoxConfig:
    """The runner's `[runners.virtualbox]`, checked; config errors name the key."""
    config = runner.virtualbox
    if config is None:
        raise config_error("missing VirtualBox configuration: add a [runners.virtualbox] table with "
                           "base_name")
    if not config.base_name:
        raise config_error("runners.virtualbox.base_name: missing BaseName setting from VirtualBox "
                           "configuration (the VM to clone)")
    if config.effective_start_type not in START_TYPES:
        raise config_error(f'runners.virtualbox.start_type: "{config.start_type}" is not one of '
                           f"{', '.join(START_TYPES)}")
    if runner.ssh is None:
        raise config_error("missing SSH config: add a [runners.ssh] table with the VM's user and password "
                           "or identity_file")
    return config


class VirtualBoxExecutor(VmExecutor):
    """One job's VirtualBox VM: cloned or restored, started, reached through its `guestssh` NAT rule."""

    executor_name = "virtualbox"

    def __init__(self, state: ProviderState) -> None:
        super().__init__(state.slots)
        self._state = state
        self._vbox = state.vbox
        self._ssh: SshConfig | None = None

    def provision(self, ctx: BuildContext) -> None:
        runner = ctx.runner
        config = validate(runner)
        assert runner.ssh is not None
        allowed = compile_allowed_images(config.allowed_images, "runners.virtualbox.allowed_images")
        guest_port = parse_port(runner.ssh.port, "runners.ssh.port")
        trace = ctx.trace
        self._ssh = runner.ssh
        self.disposable = config.disable_snapshots

        trace.println(f"Using VirtualBox version {self._vbox.version()} executor...")
        base = select_base_vm(config.base_name, ctx.image, allowed, trace)
        self._state.clean_leftovers(runner, trace)
        slot = self.take_slot(runner.short_token)
        self.vm = vm = vm_name(base if not config.disable_snapshots else config.base_name,
                               runner.short_token, slot)

        if config.disable_snapshots and self._vbox.exists(vm):
            trace.println("Deleting old VM...")
            self._kill_and_delete(vm)
        if self._vbox.exists(vm):
            trace.println("Restoring VM from snapshot...")
            try:
                self._vbox.restore_current_snapshot(vm)
            except VBoxManageError as exc:
                trace.println(f"Previous VM failed. Deleting, because {exc}")
                self._kill_and_delete(vm)
        if not self._vbox.exists(vm):
            trace.println("Creating new VM...")
            self._create_vm(config, base, vm, guest_port)
            if not config.disable_snapshots:
                trace.println("Creating default snapshot...")
                self._vbox.take_snapshot(vm, STARTED_SNAPSHOT)
        self._ensure_started(config, vm, guest_port)

    def _base_snapshot(self, config: VirtualBoxConfig, base: str) -> str:
        """gitlab-runner's determineBaseSnapshot: the snapshot to link to, "" for a full clone."""
        assert self.trace is not None
        snapshot = config.base_snapshot or self._vbox.current_snapshot(base) or ""
        if not snapshot:
            if config.disable_snapshots:
                return ""
            snapshot = BASE_SNAPSHOT
        if self._vbox.has_snapshot(base, snapshot):
            return snapshot
        if config.disable_snapshots:
            self.trace.warning(f"Snapshot {snapshot} not found in base VM {base}")
            return ""
        try:
            self._vbox.take_snapshot(base, snapshot)
        except VBoxManageError:
            self.trace.warning(f"Failed to create snapshot {snapshot} from base VM {base}")
            return ""
        return snapshot

    def _create_vm(self, config: VirtualBoxConfig, base: str, vm: str, guest_port: int) -> None:
        self._vbox.clone(base, vm, self._base_snapshot(config, base), config.base_folder)
        self._start(config, vm, guest_port)
        self._connect(vm)

    def _start(self, config: VirtualBoxConfig, vm: str, guest_port: int) -> None:
        with self._state.port_lock:
            # Ports are chosen and the VM started under one lock: two jobs never pick the same one.
            port = ensure_ssh_forward(self._vbox, vm, guest_port, self._state.port_source)
            assert self.trace is not None
            self.trace.println(f"Using local port {port} for SSH to VM {vm}...")
            self._vbox.start(vm, config.effective_start_type)

    def _ensure_started(self, config: VirtualBoxConfig, vm: str, guest_port: int) -> None:
        status = self._vbox.status(vm)
        if status not in ONLINE_OR_TRANSIENT:
            self._start(config, vm, guest_port)
        if status != "running":
            self._vbox.wait_for_status(vm, "running", 60)
        if self.remote.client is None:
            self._connect(vm)

    def _connect(self, vm: str) -> None:
        assert self.trace is not None
        port = self._vbox.ssh_port(vm)
        if port is None:
            raise VBoxManageError(f"VM {vm} has no guestssh NAT rule")
        self.trace.println("Waiting for VM to become responsive...")
        target = ssh_target(self._ssh, host="127.0.0.1", port=port)
        self.remote.hold(wait_for_ssh(vm, target, self._state.ssh_options, self._state.ssh_wait))

    def _kill_and_delete(self, vm: str) -> None:
        try:
            if self._vbox.status(vm) in ONLINE_OR_TRANSIENT:
                self._vbox.power_off(vm)
        except VBoxManageError:
            pass
        try:
            self._vbox.delete(vm)
        except VBoxManageError as exc:
            if self.trace is not None:
                self.trace.warning(f"Failed to delete VM {vm}: {exc}")

    def release_vm(self, vm: str, *, delete: bool) -> None:
        try:
            if self._vbox.status(vm) in ONLINE_OR_TRANSIENT:
                self._vbox.power_off(vm)
        except VBoxManageError:
            pass
        if delete:
            try:
                self._vbox.delete(vm)
            except VBoxManageError as exc:
                self._state.log_cleanup_failure(vm, exc)
