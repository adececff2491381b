"""The prlctl calls the Parallels executor makes, and the parsing of their answers.

The same commands and parsing as gitlab-runner's `helpers/parallels`: `list <vm> --no-header
--output status` for a VM's status (and whether it exists), `snapshot-list` with ` *` marking
the current snapshot, `list -i` for net0's MAC, `list <vm> -a -f --json` for `ip_configured`,
`exec <vm> <command>` for commands in the guest.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Mapping

from runnerfleet.errors import RunnerfleetError

COMMAND_TIMEOUT = 600.0
STOPPED, SUSPENDED, RUNNING, INVALID = "stopped", "suspended", "running", "invalid"

_VERSION = re.compile(r"prlctl version (\d+\.\d+.\d+)")
_MAC = re.compile(r"net0.* mac=([0-9A-F]{12}) card=.*")


class PrlctlError(RunnerfleetError):
    """A prlctl call failed; the message names the call and Parallels' own error line."""


class Prlctl:
    """Runs `executable` (Parallels Desktop's prlctl, or a compatible one) with `environ`."""

    def __init__(self, executable: str = "prlctl", environ: Mapping[str, str] | None = None) -> None:
        self.executable = executable
        self.environ = None if environ is None else dict(environ)

    def _call(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([self.executable, *args], capture_output=True, text=True, env=self.environ,
                                  timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise PrlctlError(f"{self.executable} not found: install Parallels Desktop on the runner host "
                              "(prlctl must be on the PATH of the runnerfleet service)") from None
        except subprocess.TimeoutExpired:
            raise PrlctlError(f"prlctl {' '.join(args)}: no answer within {COMMAND_TIMEOUT:.0f}s") from None

    def run(self, *args: str) -> str:
        done = self._call(*args)
        if done.returncode != 0:
            reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no error message"
            raise PrlctlError(f"prlctl {' '.join(args)} failed (exit status {done.returncode}): {reason}")
        return done.stdout

    # -- queries --------------------------------------------------------------------------------

    def version(self) -> str:
        out = self.run("--version")
        match = _VERSION.search(out)
        if match is None:
            raise PrlctlError(f"could not find Parallels Desktop version in output: {out.strip()}")
        return match.group(1)

    def status(self, vm: str) -> str:
        """`stopped`, `running`, `suspended`, `invalid`, ...; PrlctlError when there is no such VM."""
        return self.run("list", vm, "--no-header", "--output", "status").strip()

    def exists(self, vm: str) -> bool:
        try:
            self.status(vm)
        except PrlctlError:
            return False
        return True

    def wait_for_status(self, vm: str, wanted: str, seconds: int, interval: float = 1.0) -> None:
        status = ""
        for _ in range(seconds):
            status = self.status(vm)
            if status == wanted:
                return
            time.sleep(interval)
        raise PrlctlError(f"VM {vm} is in {status} where it should be in {wanted}")

    def current_snapshot(self, vm: str) -> str:
        """The id of the snapshot `snapshot-list` marks with ` *`; PrlctlError when there is none."""
        for line in self.run("snapshot-list", vm).splitlines():
            _, mark, rest = line.partition(" *")
            if mark and rest.strip():
                return rest.strip()
        raise PrlctlError(f"VM {vm} has no snapshot")

    def mac(self, vm: str) -> str:
        """net0's MAC (12 upper-case hex digits) from `list -i`."""
        match = _MAC.search(self.run("list", "-i", vm))
        if match is None:
            raise PrlctlError(f"MAC address for NIC: nic0 on Virtual Machine: {vm} not found")
        return match.group(1)

    def configured_ip(self, vm: str) -> str:
        """`ip_configured` of `list <vm> -a -f --json` (how gitlab-runner asks on Apple silicon)."""
        out = self.run("list", vm, "-a", "-f", "--json")
        try:
            entries = json.loads(out)
        except ValueError:
            raise PrlctlError(f"prlctl list {vm} --json: not JSON: {out.strip()[:200]}") from None
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise PrlctlError(f"VM {vm} not found")
        ip = str(entries[0].get("ip_configured") or "")
        if ip in ("", "-"):
            raise PrlctlError(f"VM {vm} doesn't have an IP address")
        return ip

    def exec(self, vm: str, *command: str) -> tuple[int, str]:
        """(exit status, stdout) of `command` in the guest; the status of prlctl when it failed itself."""
        done = self._call("exec", vm, *command)
        return done.returncode, done.stdout

    def try_exec(self, vm: str, seconds: int, *command: str, interval: float = 1.0) -> None:
        """Run `command` in the guest until it succeeds, at most `seconds` times (gitlab-runner's TryExec)."""
        status = -1
        for _ in range(max(seconds, 1)):
            status, _ = self.exec(vm, *command)
            if status == 0:
                return
            time.sleep(interval)
        raise PrlctlError(f"prlctl exec {vm} {' '.join(command)} failed (exit status {status})")

    # -- changes --------------------------------------------------------------------------------

    def clone_template(self, base: str, template: str, *, linked: bool) -> None:
        args = ["clone", base, "--name", template, "--template"]
        self.run(*args, "--linked") if linked else self.run(*args)

    def create_from_template(self, vm: str, template: str) -> None:
        self.run("create", vm, "--ostemplate", template)

    def snapshot(self, vm: str, name: str) -> None:
        self.run("snapshot", vm, "--name", name)

    def switch_snapshot(self, vm: str, snapshot_id: str) -> None:
        self.run("snapshot-switch", vm, "--id", snapshot_id)

    def start(self, vm: str) -> None:
        self.run("start", vm)

    def kill(self, vm: str) -> None:
        self.run("stop", vm, "--kill")

    def delete(self, vm: str) -> None:
        self.run("delete", vm)

    def unregister(self, vm: str) -> None:
        self.run("unregister", vm)
