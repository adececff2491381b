"""The VBoxManage calls the VirtualBox executor makes, and the parsing of their answers.

The same commands and parsing as gitlab-runner's `helpers/virtualbox`: `showvminfo` (human form)
for the `guestssh` NAT rule, `showvminfo --machinereadable` for `VMState`, `list vms -l` for the
host ports every VM already forwards, `snapshot ... list --machinereadable` for snapshots.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Mapping

from runnerfleet.errors import RunnerfleetError

SSH_RULE = "guestssh"
COMMAND_TIMEOUT = 600.0
# VMState values for which a VM is up or on its way (gitlab-runner's IsStatusOnlineOrTransient).
ONLINE_OR_TRANSIENT = frozenset({
    "running", "paused", "gurumeditation", "teleporting", "livesnapshotting", "starting", "stopping",
    "saving", "restoring", "teleportingpausedvm", "teleportingin", "faulttolerantsyncing",
    "deletingsnapshotlive", "deletingsnapshotlivepaused", "onlinesnapshotting", "restoringsnapshot",
    "deletingsnapshot", "settingup", "snapshotting",
})

_SSH_PORT = re.compile(rf"{SSH_RULE}.*host port = (\d+)")
_HOST_PORT = re.compile(r"host port = (\d+)")
_STATE = re.compile(r'^VMState="(\w+)"', re.M)
_CURRENT_SNAPSHOT = re.compile(r'^CurrentSnapshotName="([^"]*)"\r?$', re.M)
_VM_LINE = re.compile(r'^"(.*)" \{([0-9a-fA-F-]+)\}$')


class VBoxManageError(RunnerfleetError):
    """A VBoxManage call failed; the message names the call and VirtualBox's own error line."""

    def __init__(self, message: str, *, stdout: str = "", stderr: str = "") -> None:
        self.stdout, self.stderr = stdout, stderr
        super().__init__(message)


def _first_error(stdout: str, stderr: str) -> str:
    for line in stderr.splitlines():
        text = line.removeprefix("VBoxManage: error: ").strip()
        if text and not text.startswith(("Details:", "Context:")):
            return text
    return stdout.strip().splitlines()[-1] if stdout.strip() else "no error message"


class VBoxManage:
    """Runs `executable` (VirtualBox's VBoxManage, or a compatible one) with `environ`."""

    def __init__(self, executable: str = "VBoxManage", environ: Mapping[str, str] | None = None) -> None:
        self.executable = executable
        self.environ = None if environ is None else dict(environ)

    def run(self, *args: str) -> str:
        argv = [self.executable, *args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=self.environ,
                                  timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise VBoxManageError(f"{self.executable} not found: install VirtualBox on the runner host "
                                  "(VBoxManage must be on the PATH of the runnerfleet service)") from None
        except subprocess.TimeoutExpired:
            raise VBoxManageError(f"VBoxManage {' '.join(args)}: no answer within {COMMAND_TIMEOUT:.0f}s") \
                from None
        if done.returncode != 0:
            raise VBoxManageError(f"VBoxManage {' '.join(args)} failed (exit status {done.returncode}): "
                                  f"{_first_error(done.stdout, done.stderr)}",
                                  stdout=done.stdout, stderr=done.stderr)
        return done.stdout

    # -- queries --------------------------------------------------------------------------------

    def version(self) -> str:
        return self.run("--version").strip()

    def exists(self, vm: str) -> bool:
        try:
            self.run("showvminfo", vm)
        except VBoxManageError:
            return False
        return True

    def status(self, vm: str) -> str:
        """The VM's VMState (`poweroff`, `running`, `saved`, ...)."""
        match = _STATE.search(self.run("showvminfo", vm, "--machinereadable"))
        if match is None:
            raise VBoxManageError(f"VBoxManage showvminfo {vm} --machinereadable: no VMState in the answer")
        return match.group(1)

    def wait_for_status(self, vm: str, wanted: str, seconds: int = 60) -> None:
        status = ""
        for _ in range(seconds):
            status = self.status(vm)
            if status == wanted:
                return
            time.sleep(1)
        raise VBoxManageError(f"VM {vm} is in {status} where it should be in {wanted}")

    def ssh_port(self, vm: str) -> int | None:
        """The host port of the VM's `guestssh` NAT rule, if it has one."""
        match = _SSH_PORT.search(self.run("showvminfo", vm))
        return int(match.group(1)) if match else None

    def forwarded_host_ports(self) -> list[int]:
        """Host ports of every NAT rule of every registered VM (one entry per rule)."""
        return [int(p) for p in _HOST_PORT.findall(self.run("list", "vms", "-l"))]

    def vms(self) -> list[str]:
        names = []
        for line in self.run("list", "vms").splitlines():
            match = _VM_LINE.match(line.strip())
            if match:
                names.append(match.group(1))
        return names

    def current_snapshot(self, vm: str) -> str | None:
        try:
            listing = self.run("snapshot", vm, "list", "--machinereadable")
        except VBoxManageError:
            return None  # "This machine does not have any snapshots" is a failure exit
        match = _CURRENT_SNAPSHOT.search(listing)
        return match.group(1) if match else None

    def has_snapshot(self, vm: str, snapshot: str) -> bool:
        try:
            listing = self.run("snapshot", vm, "list", "--machinereadable")
        except VBoxManageError:
            return False
        pattern = re.compile(rf'^Snapshot(Name|UUID)[^=]*="({re.escape(snapshot)})"\r?$', re.M)
        return pattern.search(listing) is not None

    # -- changes --------------------------------------------------------------------------------

    def clone(self, base: str, vm: str, snapshot: str, base_folder: str) -> None:
        """A registered clone: linked to `snapshot` when given, else a full clone."""
        args = ["clonevm", base, "--mode", "machine", "--name", vm, "--register"]
        if snapshot:
            args += ["--snapshot", snapshot, "--options", "link"]
        if base_folder:
            args += ["--basefolder", base_folder]
        self.run(*args)

    def add_ssh_forward(self, vm: str, host_port: int, guest_port: int) -> None:
        self.run("modifyvm", vm, "--natpf1", f"{SSH_RULE},tcp,127.0.0.1,{host_port},,{guest_port}")

    def delete_ssh_forward(self, vm: str) -> None:
        self.run("modifyvm", vm, "--natpf1", f"delete {SSH_RULE}")

    def take_snapshot(self, vm: str, name: str) -> None:
        self.run("snapshot", vm, "take", name)

    def restore_current_snapshot(self, vm: str) -> None:
        self.run("snapshot", vm, "restorecurrent")

    def start(self, vm: str, start_type: str) -> None:
        self.run("startvm", vm, "--type", start_type)

    def power_off(self, vm: str) -> None:
        self.run("controlvm", vm, "poweroff")

    def delete(self, vm: str) -> None:
        """Unregister the VM and delete its files; falls back to a plain unregister."""
        try:
            self.run("unregistervm", vm, "--delete")
        except VBoxManageError:
            if not self.exists(vm):
                return
            self.run("unregistervm", vm)
