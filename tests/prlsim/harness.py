"""Test-side control of the prlctl simulator: its environment, golden VMs, and what it left running."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.prlsim import cli
from tests.prlsim.cli import leases_file, new_machine
from tests.vboxsim.harness import VBoxSim
from tests.vboxsim.state import locked_store

EXECUTABLE = Path(__file__).resolve().parent / "prlctl"


@dataclass
class PrlSim(VBoxSim):
    """One simulated Parallels Desktop installation (its own registry in `home`).

    Containers, images and teardown are tests/vboxsim's (the same registry and guests).
    """

    program: ClassVar[Path] = EXECUTABLE
    home_variable: ClassVar[str] = cli.DIALECT.home_variable

    @property
    def dhcp_leases(self) -> Path:
        return leases_file(self.home)

    def create_golden_vm(self, name: str, image: str, boot: str, *, snapshot: str | None = None) -> None:
        """A registered, stopped VM whose disk is `image` and whose boot command is `boot`."""
        self.home.mkdir(parents=True, exist_ok=True)
        with locked_store(self.home) as store:
            machine = new_machine(store, name)
            machine.extradata = {"vboxsim/image": image, "vboxsim/boot": boot}
            store.machines.append(machine)
        if snapshot:
            self.run("snapshot", name, "--name", snapshot)

    def listing(self) -> list[dict[str, str]]:
        """`prlctl list -a --json` and the templates, as dicts."""
        vms = json.loads(self.run("list", "-a", "--json").stdout)
        templates = json.loads(self.run("list", "-t", "--json").stdout)
        return [*vms, *templates]

    def vm_names(self) -> list[str]:
        return [vm["name"] for vm in self.listing()]

    def running_vm_names(self) -> list[str]:
        return [vm["name"] for vm in self.listing() if vm["status"] == "running"]

    def state(self, vm: str) -> str:
        return self.run("list", vm, "--no-header", "--output", "status").stdout.strip()
