"""The Parallels executor: a VM per concurrent slot from a template of the base VM, jobs run in it over SSH.

gitlab-runner's `executors/parallels`: the base VM gets a linked-clone template
(`<base>-template` unless `template_name`), the job's VM
`<base>-runner-<short token>-concurrent-<id>` is created from it, started, waited for
(`prlctl exec <vm> exit 0`, then its IP address from the DHCP lease of net0's MAC, or prlctl's
`ip_configured` when there is none, then SSH) and gets a `Started` snapshot; the next job of the
slot switches back to that snapshot. With `disable_snapshots` the VM is named after the project
(`<base>-runner-<short token>-project-<id>-concurrent-<id>`) and deleted after every job. On
Apple silicon Parallels has no snapshots of such VMs: the template is a full clone, the address
comes from `prlctl list --json` and the VM is deleted after the job.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field

from runnerfleet.config import RunnerConfig, SshConfig
from runnerfleet.config.schema import ParallelsConfig
from runnerfleet.executors.base import BuildContext
from runnerfleet.executors.parallels.leases import ip_from_leases
from runnerfleet.executors.parallels.prlctl import INVALID, RUNNING, STOPPED, SUSPENDED, Prlctl, PrlctlError
from runnerfleet.executors.ssh import SshOptions, parse_port, ssh_target
from runnerfleet.executors.ssh.settings import config_error
from runnerfleet.executors.vm import (
    Slots,
    VmExecutor,
    compile_allowed_images,
    project_vm_name,
    select_base_vm,
    vm_name,
    wait_for_ssh,
)

STARTED_SNAPSHOT = "Started"
DEFAULT_TIME_SERVER = "time.apple.com"
# gitlab-runner's waits, in polls one `poll_interval` apart.
BOOT_POLLS = 120
IP_POLLS = 120
STATUS_POLLS = 60
TIME_SYNC_POLLS = 20


@dataclass(frozen=True)
class ParallelsSettings:
    """What every Parallels executor of one provider shares."""

    prlctl: Prlctl
    slots: Slots
    ssh_options: SshOptions
    ssh_wait: float
    dhcp_leases: str
    apple_silicon: bool
    poll_interval: float = 1.0
    # Two jobs of a fresh runner would both clone the template (the second clone fails): one does.
    template_lock: threading.Lock = field(default_factory=threading.Lock)


def validate(runner: RunnerConfig) -> ParallelsConfig:
    """The runner's `[runners.parallels]`, checked; config errors name the key."""
    config = runner.parallels
    if config is None:
        raise config_error("missing Parallels configuration: add a [runners.parallels] table with base_name")
    if not config.base_name:
        raise config_error("runners.parallels.base_name: missing BaseName setting from Parallels "
                           "configuration (the VM to clone)")
    if runner.ssh is None:
        raise config_error("missing SSH configuration: add a [runners.ssh] table with the VM's user and "
                           "password or identity_file")
    return config


class ParallelsExecutor(VmExecutor):
    """One job's Parallels VM: created from the template or switched back to its snapshot, then SSH."""

    executor_name = "parallels"

    def __init__(self, settings: ParallelsSettings) -> None:
        super().__init__(settings.slots)
        self._s = settings
        self._prl = settings.prlctl
        self._ssh: SshConfig | None = None
        self._ip = ""

    # -- prepare --------------------------------------------------------------------------------

    def provision(self, ctx: BuildContext) -> None:
        runner = ctx.runner
        config = validate(runner)
        assert runner.ssh is not None
        allowed = compile_allowed_images(config.allowed_images, "runners.parallels.allowed_images")
        parse_port(runner.ssh.port, "runners.ssh.port")
        self._ssh = runner.ssh
        trace = ctx.trace
        trace.println(f"Using Parallels {self._prl.version()} executor...")
        base = select_base_vm(config.base_name, ctx.image, allowed, trace)

        token = runner.short_token
        slot = self.take_slot(token)
        snapshots = not config.disable_snapshots and not self._s.apple_silicon
        self.disposable = not snapshots
        if config.disable_snapshots:
            project = ctx.payload.job_info.project_id if ctx.payload is not None else 0
            self.vm = vm = project_vm_name(base, token, project, ctx.concurrent_project_id)
        else:
            self.vm = vm = vm_name(base, token, slot)
        self._unregister_invalid(vm)

        if not snapshots and self._prl.exists(vm):
            trace.println("Deleting old VM...")
            self._kill_and_unregister(vm)
        if snapshots and self._prl.exists(vm):
            trace.println("Restoring VM from snapshot...")
            try:
                self._prl.switch_snapshot(vm, self._prl.current_snapshot(vm))
            except PrlctlError as exc:
                trace.println(f"Previous VM failed. Deleting, because {exc}")
                self._kill_and_unregister(vm)
        if not self._prl.exists(vm):
            trace.println("Creating new VM...")
            self._create_vm(config, base, vm)
            if snapshots:
                trace.println("Creating default snapshot...")
                self._prl.snapshot(vm, STARTED_SNAPSHOT)
        self._ensure_started(config, vm)

    def _unregister_invalid(self, vm: str) -> None:
        with contextlib.suppress(PrlctlError):
            if self._prl.status(vm) == INVALID:
                self._prl.unregister(vm)

    def _kill_and_unregister(self, vm: str) -> None:
        # gitlab-runner's killAndUnregisterVM: each step may fail (already stopped, already gone).
        for step in (self._prl.kill, self._prl.delete, self._prl.unregister):
            with contextlib.suppress(PrlctlError):
                step(vm)

    def _create_vm(self, config: ParallelsConfig, base: str, vm: str) -> None:
        template = config.template_name or f"{base}-template"
        with self._s.template_lock:
            self._unregister_invalid(template)
            if not self._prl.exists(template):
                try:
                    self._prl.clone_template(base, template, linked=not self._s.apple_silicon)
                except PrlctlError as exc:
                    raise PrlctlError(f'{exc} (image: "{base}")') from None
        self._prl.create_from_template(vm, template)
        self._prl.start(vm)
        self._prl.try_exec(vm, BOOT_POLLS, "exit", "0", interval=self._s.poll_interval)
        self._verify(vm)

    def _ensure_started(self, config: ParallelsConfig, vm: str) -> None:
        assert self.trace is not None
        status = self._prl.status(vm)
        if status in (STOPPED, SUSPENDED):
            self.trace.println("Starting VM...")
            self._prl.start(vm)
        if status != RUNNING:
            self._prl.wait_for_status(vm, RUNNING, STATUS_POLLS, self._s.poll_interval)
        self.trace.println("Waiting for VM to become responsive...")
        self._verify(vm)
        self._sync_time(config, vm)

    def _address(self, vm: str) -> str:
        """The VM's IP address, asked for until it has one (gitlab-runner's waitForIPAddress)."""
        if self._ip:
            return self._ip
        last: PrlctlError | None = None
        for _ in range(IP_POLLS):
            try:
                if self._s.apple_silicon:
                    self._ip = self._prl.configured_ip(vm)
                else:
                    self._ip = self._leased_or_configured_ip(vm)
                return self._ip
            except PrlctlError as exc:
                last = exc
            time.sleep(self._s.poll_interval)
        raise last or PrlctlError(f"VM {vm} has no IP address")

    def _leased_or_configured_ip(self, vm: str) -> str:
        """The DHCP lease of net0's MAC (gitlab-runner on Intel); prlctl's `ip_configured` without one.

        runnerfleet's addition: when the lease file cannot be read or has no lease for the MAC
        (another network mode, a lease file elsewhere), prlctl is asked as on Apple silicon; the
        lease file's error is the one reported when neither knows the address.
        """
        try:
            return ip_from_leases(self._prl.mac(vm), self._s.dhcp_leases)
        except PrlctlError as lease_error:
            try:
                return self._prl.configured_ip(vm)
            except PrlctlError:
                raise lease_error from None

    def _verify(self, vm: str) -> None:
        """Logged in over SSH and `exit` ran (once per job; the client serves the job's stages)."""
        if self.remote.client is not None:
            return
        assert self._ssh is not None
        target = ssh_target(self._ssh, host=self._address(vm))
        self.remote.hold(wait_for_ssh(vm, target, self._s.ssh_options, self._s.ssh_wait))

    def _sync_time(self, config: ParallelsConfig, vm: str) -> None:
        """gitlab-runner's updateGuestTime: ntpdate, else sntp (macOS guests), else a warning."""
        assert self.trace is not None
        server = config.time_server or DEFAULT_TIME_SERVER
        for tool, command in (("ntpdate", ("sudo", "ntpdate", "-u", server)),
                              ("sntp", ("sudo", "sntp", "-sS", server))):
            status, _ = self._prl.exec(vm, "which", tool)
            if status != 0:
                continue
            try:
                self._prl.try_exec(vm, TIME_SYNC_POLLS, *command, interval=self._s.poll_interval)
            except PrlctlError:
                self.trace.println("Could not sync with timeserver!")
                raise
            return
        self.trace.warning("Neither sntp nor ntpdate are available in a guest VM. Proceeding without time "
                           "synchronization ...")

    # -- cleanup --------------------------------------------------------------------------------

    def release_vm(self, vm: str, *, delete: bool) -> None:
        with contextlib.suppress(PrlctlError):  # already stopped
            self._prl.kill(vm)
        if delete:
            try:
                self._prl.delete(vm)
            except PrlctlError as exc:
                if self.trace is not None:
                    self.trace.warning(f"Failed to delete VM {vm}: {exc}")
