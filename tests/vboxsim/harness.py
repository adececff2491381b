"""Test-side control of the simulator: its environment, golden VMs, and what it left running."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.vboxsim import cli
from tests.vboxsim.guest import HOME_LABEL

EXECUTABLE = Path(__file__).resolve().parent / "VBoxManage"


@dataclass
class VBoxSim:
    """One simulated VirtualBox installation (its own registry in `home`); a subclass names
    another CLI of the same simulator (its program and the variable naming its home)."""

    home: Path
    program: ClassVar[Path] = EXECUTABLE
    home_variable: ClassVar[str] = cli.DIALECT.home_variable

    @property
    def executable(self) -> str:
        return str(self.program)

    @property
    def home_environ(self) -> dict[str, str]:
        """What a process needs in its environment to use this installation."""
        return {self.home_variable: str(self.home)}

    @property
    def environ(self) -> dict[str, str]:
        return {**os.environ, **self.home_environ}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.executable, *args], capture_output=True, text=True, env=self.environ,
                              timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.program.name} {' '.join(args)} failed ({done.returncode}): "
                                 f"{done.stderr}")
        return done

    def create_golden_vm(self, name: str, image: str, boot: str, *, snapshot: str | None = None) -> None:
        """A registered, powered-off base VM whose disk is `image`, optionally with a snapshot."""
        self.run("createvm", "--name", name, "--ostype", "Debian_64", "--register")
        self.run("setextradata", name, "vboxsim/image", image)
        self.run("setextradata", name, "vboxsim/boot", boot)
        if snapshot:
            self.run("snapshot", name, "take", snapshot)

    def vm_names(self) -> list[str]:
        lines = self.run("list", "vms").stdout.splitlines()
        return [line.rsplit(" {", 1)[0].strip('"') for line in lines]

    def running_vm_names(self) -> list[str]:
        lines = self.run("list", "runningvms").stdout.splitlines()
        return [line.rsplit(" {", 1)[0].strip('"') for line in lines]

    def state(self, vm: str) -> str:
        for line in self.run("showvminfo", vm, "--machinereadable").stdout.splitlines():
            if line.startswith("VMState="):
                return line.split("=", 1)[1].strip('"')
        raise AssertionError(f"no VMState for {vm}")

    def containers(self, running_only: bool = False) -> list[str]:
        args = ["docker", "ps", "--format", "{{.Names}}", "--filter", f"label={HOME_LABEL}={self.home}"]
        if not running_only:
            args.insert(2, "-a")
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()

    def guest_processes(self) -> list[str]:
        """Command lines in every running VM (container) of this installation, besides sshd, its
        boot shell and this `ps`: what jobs left running."""
        found = []
        for name in self.containers(running_only=True):
            listing = subprocess.run(["docker", "exec", name, "ps", "-eo", "args="], capture_output=True,
                                     text=True).stdout.splitlines()
            found += [line for line in listing
                      if line and not line.startswith(("sshd", "/usr/sbin/sshd", "ps ", "sh -c mkdir"))]
        return found

    def destroy(self) -> None:
        """Remove every container and image this installation made (test teardown)."""
        for name in self.containers():
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        images = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "vboxsim/*"],
                                capture_output=True, text=True).stdout.split()
        state = (self.home / "state.json").read_text() if (self.home / "state.json").exists() else ""
        for image in images:
            if image.split(":", 1)[0].removeprefix("vboxsim/") in state:
                subprocess.run(["docker", "rmi", "-f", image], capture_output=True)


def machine_value(sim: VBoxSim, vm: str, key: str) -> str:
    """One `key="value"` of `showvminfo --machinereadable`."""
    for line in sim.run("showvminfo", vm, "--machinereadable").stdout.splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1].strip('"')
    raise AssertionError(f"showvminfo {vm} has no {key}")


def exec_in_vm(sim: VBoxSim, vm: str, command: str) -> str:
    """Run `command` inside a running simulated VM (its container), as a console would."""
    container = f"vboxsim-{machine_value(sim, vm, 'UUID')}"
    return subprocess.run(["docker", "exec", container, "sh", "-c", command], capture_output=True,
                          text=True, check=True).stdout
