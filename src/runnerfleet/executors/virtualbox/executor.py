"""The VirtualBox executor: a clone of a base VM per concurrent slot, jobs run in it over SSH.

gitlab-runner's `executors/virtualbox`: the VM `<base>-runner-<short token>-concurrent-<id>` is
cloned (linked to a snapshot of the base, or fully), gets a `guestssh` NAT rule, starts headless
and is waited for until SSH answers; with snapshots it then gets a `Started` snapshot and is kept
(powered off) for the next job of that slot, which restores it; with `disable_snapshots` it is
deleted after every job. A VM that never finished its preparation is always deleted.
"""

from __future__ import annotations

import threading

from runnerfleet.config import RunnerConfig, SshConfig, VirtualBoxConfig
from runnerfleet.executors.base import REMOTE_RUNNER_COMMAND, BuildContext, ExecutorEnvironment, StageResult
from runnerfleet.executors.errors import BuildError
from runnerfleet.executors.ssh import (
    SshClient,
    parse_port,
    remote_command,
    remote_dirs,
    remote_shell,
    run_stage,
    ssh_target,
)
from runnerfleet.executors.ssh.settings import config_error
from runnerfleet.executors.virtualbox.ports import ensure_ssh_forward
from runnerfleet.executors.virtualbox.provider_state import STARTED_SNAPSHOT, ProviderState
from runnerfleet.executors.virtualbox.vboxmanage import ONLINE_OR_TRANSIENT, VBoxManageError
from runnerfleet.executors.vm import compile_allowed_images, select_base_vm, vm_name, wait_for_ssh
from runnerfleet.trace import TraceBuffer

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


def _job_image(ctx: BuildContext) -> str:
    # The job's expanded `image:` once the pipeline passes it to executors (BuildContext.image).
    image = getattr(ctx, "image", "")
    return image if isinstance(image, str) else ""


class VirtualBoxExecutor:
    """One job's VM: prepared, used for the job's stages over SSH, then powered off (and deleted)."""

    def __init__(self, state: ProviderState) -> None:
        self._state = state
        self._vbox = state.vbox
        self._trace: TraceBuffer | None = None
        self._client: SshClient | None = None
        self._command = ""
        self._vm = ""
        self._slot: tuple[str, int] | None = None
        self._ssh: SshConfig | None = None
        self._provisioned = False
        self._disposable = False

    # -- prepare --------------------------------------------------------------------------------

    def prepare(self, ctx: BuildContext) -> ExecutorEnvironment:
        runner = ctx.runner
        config = validate(runner)
        assert runner.ssh is not None
        allowed = compile_allowed_images(config.allowed_images, "runners.virtualbox.allowed_images")
        shell = remote_shell(runner, "virtualbox")
        guest_port = parse_port(runner.ssh.port, "runners.ssh.port")
        self._trace = trace = ctx.trace
        self._ssh = runner.ssh
        self._disposable = config.disable_snapshots

        trace.println(f"Using VirtualBox version {self._vbox.version()} executor...")
        base = select_base_vm(config.base_name, _job_image(ctx), allowed, trace)
        self._state.clean_leftovers(runner, trace)
        token = runner.short_token
        slot = self._state.slots.take(token)
        self._slot = (token, slot)
        self._vm = vm = vm_name(base if not config.disable_snapshots else config.base_name, token, slot)

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
        self._provisioned = True

        self._command = remote_command(shell, ctx.user)
        assert self._client is not None
        builds_dir, cache_dir = remote_dirs(self._client, runner)
        custom = runner.custom_build_dir.enabled
        safe = runner.safe_directory_checkout
        return ExecutorEnvironment(
            shell=shell,
            builds_dir=builds_dir,
            cache_dir=cache_dir,
            shared=False,
            custom_build_dir_enabled=bool(custom),
            # VM builds dirs are disposable: git's safe.directory is set unless turned off.
            safe_directory_checkout=True if safe is None else safe,
            runner_command=REMOTE_RUNNER_COMMAND,
        )

    def _base_snapshot(self, config: VirtualBoxConfig, base: str) -> str:
        """gitlab-runner's determineBaseSnapshot: the snapshot to link to, "" for a full clone."""
        assert self._trace is not None
        snapshot = config.base_snapshot or self._vbox.current_snapshot(base) or ""
        if not snapshot:
            if config.disable_snapshots:
                return ""
            snapshot = BASE_SNAPSHOT
        if self._vbox.has_snapshot(base, snapshot):
            return snapshot
        if config.disable_snapshots:
            self._trace.warning(f"Snapshot {snapshot} not found in base VM {base}")
            return ""
        try:
            self._vbox.take_snapshot(base, snapshot)
        except VBoxManageError:
            self._trace.warning(f"Failed to create snapshot {snapshot} from base VM {base}")
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
            assert self._trace is not None
            self._trace.println(f"Using local port {port} for SSH to VM {vm}...")
            self._vbox.start(vm, config.effective_start_type)

    def _ensure_started(self, config: VirtualBoxConfig, vm: str, guest_port: int) -> None:
        status = self._vbox.status(vm)
        if status not in ONLINE_OR_TRANSIENT:
            self._start(config, vm, guest_port)
        if status != "running":
            self._vbox.wait_for_status(vm, "running", 60)
        if self._client is None:
            self._connect(vm)

    def _connect(self, vm: str) -> None:
        assert self._trace is not None
        port = self._vbox.ssh_port(vm)
        if port is None:
            raise VBoxManageError(f"VM {vm} has no guestssh NAT rule")
        self._trace.println("Waiting for VM to become responsive...")
        target = ssh_target(self._ssh, host="127.0.0.1", port=port)
        self._client = wait_for_ssh(vm, target, self._state.ssh_options, self._state.ssh_wait)

    def _kill_and_delete(self, vm: str) -> None:
        try:
            if self._vbox.status(vm) in ONLINE_OR_TRANSIENT:
                self._vbox.power_off(vm)
        except VBoxManageError:
            pass
        try:
            self._vbox.delete(vm)
        except VBoxManageError as exc:
            if self._trace is not None:
                self._trace.warning(f"Failed to delete VM {vm}: {exc}")

    # -- stages ---------------------------------------------------------------------------------

    def run(
        self,
        stage_name: str,
        script: str,
        *,
        timeout: float | None,
        cancel_event: threading.Event,
    ) -> StageResult:
        if self._client is None or self._trace is None:
            raise RuntimeError("VirtualBoxExecutor.run called before prepare")
        return run_stage(self._client, self._command, script, self._trace, timeout=timeout,
                         cancel_event=cancel_event)

    def finish(self, error: BuildError | None) -> None:
        pass

    def cleanup(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
        if self._vm:
            vm, self._vm = self._vm, ""
            try:
                if self._vbox.status(vm) in ONLINE_OR_TRANSIENT:
                    self._vbox.power_off(vm)
            except VBoxManageError:
                pass
            if self._disposable or not self._provisioned:
                try:
                    self._vbox.delete(vm)
                except VBoxManageError as exc:
                    self._state.log_cleanup_failure(vm, exc)
        if self._slot is not None:
            self._state.slots.give(*self._slot)
            self._slot = None
        self._trace = None
